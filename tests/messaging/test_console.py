import pytest


@pytest.mark.django_db
def test_console_page_is_served_without_external_urls(api_client):
    response = api_client.get("/console/chat/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="login-form"' in html and "/static/messaging/console.js" in html
    assert 'id="notification-badge"' in html  # the unread notifications, kept live by notification.created
    assert "http://" not in html and "https://" not in html
    assert api_client.get("/static/messaging/console.js").status_code == 200


@pytest.mark.django_db
def test_console_can_be_switched_off(api_client, settings):
    settings.CHAT_CONSOLE_ENABLED = False
    response = api_client.get("/console/chat/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
