"""The one polling answer (app.core.polling): 304 unchanged, 286 once final."""

from __future__ import annotations

from app.core.polling import STOP_POLLING, poll_answer, poll_etag


def _block(calls: list[int]):
    def render() -> str:
        calls.append(1)
        return "<div>status</div>"
    return render


def test_unchanged_block_answers_304_without_rendering(app):
    etag = poll_etag("RCK-1", "pending")
    calls: list[int] = []
    with app.test_request_context(headers={"If-None-Match": f'"{etag}"'}):
        response = poll_answer(etag=etag, final=False, render=_block(calls))
    assert response.status_code == 304 and calls == []
    assert response.get_etag()[0] == etag
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_final_block_answers_286_even_when_the_browser_has_it(app):
    etag = poll_etag("RCK-1", "paid")
    calls: list[int] = []
    with app.test_request_context(headers={"If-None-Match": f'"{etag}"'}):
        response = poll_answer(etag=etag, final=True, render=_block(calls))
    assert response.status_code == STOP_POLLING == 286 and calls == [1]
    assert response.get_etag()[0] is None


def test_changed_block_is_rendered_with_its_new_etag(app):
    calls: list[int] = []
    with app.test_request_context(headers={"If-None-Match": '"old"'}):
        etag = poll_etag("RCK-1", "pending")
        response = poll_answer(etag=etag, final=False, render=_block(calls))
    assert response.status_code == 200 and calls == [1]
    assert response.get_data(as_text=True) == "<div>status</div>"
    assert response.get_etag()[0] == etag


def test_etag_names_the_language(app):
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("id"):
            indonesian = poll_etag("RCK-1", "pending")
        with force_locale("en"):
            english = poll_etag("RCK-1", "pending")
    assert indonesian != english
