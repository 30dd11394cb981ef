"""The shared template blocks of app/templates/_macros/ui.html render what they promise
(table, empty state, definition list, pager, status pill, paged list), and the areas that
used to copy those blocks call the macros instead (issue 23)."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import render_template_string

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"
IMPORT = ('{% from "_macros/ui.html" import table, empty, facts, fact, pager, pill, status_pill, '
          "paged %}")


def render(app, source, url="/", **context):
    with app.test_request_context(url):
        return render_template_string(IMPORT + source, **context)


def test_empty_state_is_one_muted_line_with_its_text_and_optional_link(app):
    html = render(app, '{{ empty("Belum ada arsip.") }}|'
                       '{{ empty("Belum ada varian.", "/produk/baru", "Tambah") }}')
    plain, linked = html.split("|")
    assert plain == '<p class="empty">Belum ada arsip.</p>'
    assert linked == '<p class="empty">Belum ada varian. <a href="/produk/baru">Tambah</a></p>'


def test_empty_state_escapes_its_text(app):
    html = render(app, "{{ empty(text) }}", text="<script>x</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_pager_links_keep_every_other_query_argument(app):
    html = render(app, '{{ pager(2, 3, target="#ledger") }}',
                  url="/admin/pembayaran?q=serum&status=paid&hal=2")
    prev = re.search(r'<a [^>]*rel="prev"[^>]*>', html)[0]
    nxt = re.search(r'<a [^>]*rel="next"[^>]*>', html)[0]
    assert 'href="/admin/pembayaran?q=serum&amp;status=paid&amp;hal=1"' in prev
    assert 'hx-get="/admin/pembayaran?q=serum&amp;status=paid&amp;hal=1"' in prev
    assert 'href="/admin/pembayaran?q=serum&amp;status=paid&amp;hal=3"' in nxt
    assert 'hx-target="#ledger"' in nxt and 'hx-push-url="true"' in nxt
    assert 'aria-label="Halaman"' in html and "Halaman 2 dari 3" in html


def test_pager_without_target_is_plain_links_and_uses_the_given_parameter(app):
    html = render(app, '{{ pager(1, 2, param="page") }}', url="/crm/perusahaan?q=rina")
    assert 'href="/crm/perusahaan?q=rina&amp;page=2"' in html
    assert "hx-get" not in html and 'rel="prev"' not in html


def test_pager_is_absent_for_one_page_and_hides_the_total_when_inexact(app):
    assert render(app, "{{ pager(1, 1) }}").strip() == ""
    html = render(app, "{{ pager(3, 4, exact=False) }}", url="/admin/audit?hal=3")
    assert "Halaman 3" in html and "dari" not in html


@pytest.mark.parametrize("status", ["paid", "unpaid", "expired", "review"])
def test_status_pill_class_follows_the_kind_and_status(app, status):
    labels = {"paid": "Lunas", "unpaid": "Belum dibayar", "expired": "Kedaluwarsa",
              "review": "Diperiksa"}
    html = render(app, '{{ status_pill("pay", status, labels, "payment-status") }}',
                  status=status, labels=labels)
    assert html == (f'<span class="badge badge-pay-{status}" data-testid="payment-status">'
                    f"{labels[status]}</span>")


def test_status_pill_without_a_label_shows_the_status_itself(app):
    html = render(app, '{{ status_pill("lead", "odd", {}) }}')
    assert html == '<span class="badge badge-lead-odd">odd</span>'


def test_pill_variant_testid_and_tag(app):
    html = render(app, '{{ pill("Arsip") }}|{{ pill("Aktif", "ok") }}|'
                       '{{ pill(w, "gate", "gate-M1", tag="p") }}', w="<b>")
    plain, variant, para = html.split("|")
    assert plain == '<span class="badge">Arsip</span>'
    assert variant == '<span class="badge badge-ok">Aktif</span>'
    assert para == '<p class="badge badge-gate" data-testid="gate-M1">&lt;b&gt;</p>'


def test_table_headers_have_column_scope_and_skip_conditional_columns(app):
    source = ('{% call table(["Nama", "Perusahaan" if staff, {"label": "Stok", "class": "num"}, '
              '{"label": "Tindakan", "hidden": true}], class_="materials", testid="t") %}'
              "<tr><td>a</td></tr>{% endcall %}")
    html = render(app, source, staff=False)
    headers = re.findall(r"<th[ >].*?</th>", html)
    assert headers == ['<th scope="col">Nama</th>', '<th scope="col" class="num">Stok</th>',
                       '<th scope="col"><span class="visually-hidden">Tindakan</span></th>']
    assert '<div class="table-wrap"><table class="materials" data-testid="t">' in html
    assert "<tbody>\n  <tr><td>a</td></tr>\n  </tbody>" in html
    assert "Perusahaan" in render(app, source, staff=True)


def test_table_wrapper_region_is_focusable_only_with_a_label_and_optional(app):
    labelled = render(app, '{% call table(["A"], label="Penjualan") %}{% endcall %}')
    assert ('<div class="table-wrap" tabindex="0" role="region" aria-label="Penjualan">'
            in labelled)
    bare = render(app, '{% call table(["A"], wrap=false) %}{% endcall %}')
    assert "table-wrap" not in bare and bare.startswith("<table>")


def test_table_foot_and_headerless_table(app):
    source = ('{% set foot %}<tr><th>Total</th></tr>{% endset %}'
              '{% call table(["A"], foot=foot) %}<tr><td>1</td></tr>{% endcall %}|'
              '{% call table(None, class_="breakdown") %}'
              '<tr><th scope="row">Biaya</th></tr>{% endcall %}')
    with_foot, headerless = render(app, source).split("|")
    assert "<tfoot><tr><th>Total</th></tr></tfoot>" in with_foot
    assert "<thead>" not in headerless and '<th scope="row">Biaya</th>' in headerless


def test_definition_list_terms_values_classes_and_markup(app):
    source = ('{% call facts(testid="sandbox-transaction") %}'
              '{{ fact("Jumlah", amount, class_="pay-number", testid="amount") }}'
              '{% call fact("Toko") %}<a href="/toko/x">X</a>{% endcall %}'
              '{{ fact("Catatan", note) }}'
              "{% endcall %}")
    html = render(app, source, amount="Rp 1.000", note="<i>")
    assert html.startswith('<dl class="facts" data-testid="sandbox-transaction">')
    assert '<dt>Jumlah</dt><dd class="pay-number" data-testid="amount">Rp 1.000</dd>' in html
    assert '<dt>Toko</dt><dd><a href="/toko/x">X</a></dd>' in html
    assert "<dt>Catatan</dt><dd>&lt;i&gt;</dd>" in html and html.endswith("</dl>")
    bare = render(app, '{% call facts(class_="maklon-spec") %}{% endcall %}')
    assert bare.startswith('<dl class="maklon-spec">')


def test_paged_list_shows_rows_and_pager_or_the_empty_state(app):
    source = ('{% call paged("company-rows", listing, "Tidak ada perusahaan.", '
              'class_="table-wrap", param="page") %}'
              "<ul>{% for x in listing.items %}<li>{{ x }}</li>{% endfor %}</ul>{% endcall %}")
    full = render(app, source, url="/crm/perusahaan?q=a",
                  listing=SimpleNamespace(items=["PT A"], page=1, pages=2))
    assert full.startswith('<div id="company-rows" class="table-wrap">')
    assert "<li>PT A</li>" in full and 'href="/crm/perusahaan?q=a&amp;page=2"' in full
    assert "Tidak ada perusahaan." not in full
    empty_page = render(app, source, listing=SimpleNamespace(items=[], page=1, pages=0))
    assert '<div id="company-rows" class="table-wrap">' in empty_page
    assert '<p class="empty">Tidak ada perusahaan.</p>' in empty_page and "<ul>" not in empty_page


AREAS = ["admin", "payments", "audit", "maklon", "crm"]
COPIED_BLOCKS = {
    "a hand-written table wrapper": re.compile(r'<div class="table-wrap">\s*<table'),
    "a hand-written table header": re.compile(r"<thead>"),
    "a hand-written empty state": re.compile(r'<p class="empty"'),
    "a hand-written definition list": re.compile(r"<dl[ >]"),
    "a hand-written status pill": re.compile(r'class="badge'),
}


@pytest.mark.parametrize("area", AREAS)
def test_area_templates_call_the_shared_macros_instead_of_copying_blocks(area):
    copies = []
    for path in sorted((TEMPLATES / area).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        copies += [f"{path.relative_to(TEMPLATES)}: {what}"
                   for what, pattern in COPIED_BLOCKS.items() if pattern.search(text)]
    assert copies == []


UI_NAMES = ["table", "empty", "facts", "fact", "pager", "pill", "status_pill", "paged"]
CALLED = re.compile(r"(?:\{\{-?|\{%-? call(?: \([^)]*\))?)\s*(" + "|".join(UI_NAMES) + r")\(")


def test_every_template_imports_the_shared_macros_it_calls():
    # An unimported macro is only an UndefinedError (a 500) when that branch renders.
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        known = set(re.findall(r"\{% macro (\w+)", text))
        for names in re.findall(r'\{% from "[^"]+" import ([^%]+?) %\}', text):
            known |= {part.split(" as ")[-1].strip() for part in names.split(",")}
        missing += [f"{path.relative_to(TEMPLATES)}: {name}"
                    for name in sorted(set(CALLED.findall(text)) - known)]
    assert missing == []
