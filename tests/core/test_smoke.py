def test_home_page_renders_in_indonesian_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="id"' in response.get_data(as_text=True)
