import pytest
from playwright.sync_api import expect
from tests.browser.test_emotion_capture import _sign_in, _shot, camera_browser, camera_page  # noqa
from wellness.tests.test_snapshots import _emotion_weights_setting, emotion_test_urls, emotion_weights  # noqa
from wellness import snapshots
from wellness.models import EmotionSnapshot

urlpatterns = emotion_test_urls()
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


def test_shots(camera_page, live_server, alice, request):
    page = camera_page
    snapshots.emotion_consent_set(user=alice, capture=True, keep_images=False)
    s = EmotionSnapshot.objects.create(patient=alice.patient_record, captured_by=alice, status="done", face_detected=True,
        dominant_emotion="happy", confidence=0.83, emotion_vector={"happy": .83, "neutral": .1, "sad": .03, "surprise": .02, "angry": .01, "fear": .01, "disgust": 0.0})
    _sign_in(page, live_server, "alice@example.com")
    page.wait_for_timeout(800)
    _shot(page, request, "dashboard")
    page.goto(live_server.url + "/wellness/emotion/")
    page.evaluate(f"fetch('/wellness/emotion/{s.pk}/').then(r => r.text()).then(t => document.querySelector('[data-role=result]').innerHTML = t)")
    page.wait_for_timeout(500)
    _shot(page, request, "face")
    page.set_viewport_size({"width": 390, "height": 800})
    _shot(page, request, "mobile")
