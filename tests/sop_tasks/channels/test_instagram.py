"""InstagramPublisher at the HTTP edge: instagrapi's real requests, Instagram's answers faked.

No network: ``Client(private_transport="requests")`` so ``responses`` sees every request, and
instagrapi's fixed sleeps are recorded instead of slept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from PIL import Image

from sop_tasks.channels.base import Publisher, build_payload, payload_hash
from sop_tasks.channels.instagram import ACCOUNT_KEY, InstagramPublisher, MemorySessionStore
from sop_tasks.content import MediaFile, PreparedContent, inspect_media
from sop_tasks.errors import (
    ActionRequiredError,
    CredentialsError,
    RateLimitedError,
    RejectedContentError,
    TransientChannelError,
)
from tests.support.instagram_fake import (
    CAPTION,
    CONFIGURE_CLIPS_URL,
    CONFIGURE_SIDECAR_URL,
    CONFIGURE_URL,
    LOGIN_URL,
    NEW_SESSION,
    OLD_SESSION,
    PASSWORD,
    PASSWORD_KEY_URL,
    RUPLOAD_PHOTO_URL,
    RUPLOAD_VIDEO_URL,
    UPLOAD_SETTINGS_URL,
    USDID_URL,
    USERNAME,
    InstagramFake,
    assert_no_secrets,
    auth_session,
    challenge_body,
    fast_client,
    feed_url,
    make_reel_mp4,
    media_item,
    prepared_content,
    publisher,
    session_settings,
    stored_session_store,  # noqa: F401 (the ``store`` fixture)
)
from tests.support.media import make_jpeg, make_mp4, make_png
from tests.support.video import MIDDLE, close_to, make_video_mp4, mean_color_of

# ---------------------------------------------------------------------- publishing


def test_is_a_publisher() -> None:
    pub: Publisher = publisher(MemorySessionStore())
    assert (pub.channel, pub.mode) == ("instagram", "live")
    assert PASSWORD not in repr(pub)


def test_photo_with_stored_session_publishes_without_login(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    content = prepared_content(make_jpeg(tmp_path / "pameran.jpg", (1080, 1080)))
    ig.photo_published()

    result = publisher(store).publish(content, "sub-1-instagram")

    assert result.channel == "instagram" and result.mode == "live" and result.status == "published"
    assert result.post_id == "3456789012345678901"
    assert result.url == "https://www.instagram.com/p/C0dEpHoTo1/"
    assert result.payload_hash == payload_hash(build_payload("instagram", content))
    # the stored session was used as it is: no login request of any kind, nothing re-saved
    assert ig.login_attempts == 0
    assert not ig.calls("POST", USDID_URL) and not ig.calls("GET", PASSWORD_KEY_URL)
    assert store.saves == 0
    (rupload,) = ig.calls("POST", RUPLOAD_PHOTO_URL)
    assert rupload.request.body[:2] == b"\xff\xd8"  # a real JPEG went up
    assert json.loads(rupload.request.headers["X-Instagram-Rupload-Params"])["media_type"] == "1"
    (configure,) = ig.calls("POST", CONFIGURE_URL)
    assert ig.form(configure)["caption"] == CAPTION
    assert auth_session(configure) == OLD_SESSION


def test_png_with_odd_file_name_is_sent_by_its_real_format(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    # stage_media keeps the source name; a download may have no extension at all
    png = make_png(tmp_path / "unduhan")
    ig.photo_published()

    publisher(store).publish(prepared_content(png), "k")

    (rupload,) = ig.calls("POST", RUPLOAD_PHOTO_URL)
    assert rupload.request.headers["X-Entity-Type"] == "image/png"
    assert rupload.request.body[:2] == b"\xff\xd8"  # instagrapi re-encodes to JPEG


def test_album_of_two_images(ig: InstagramFake, store: MemorySessionStore, tmp_path: Path) -> None:
    content = prepared_content(make_jpeg(tmp_path / "a.jpg"), make_jpeg(tmp_path / "b.jpg", color="maroon"))
    ig.recent([])
    ig.photo_rupload(times=2)
    ig.configure_album(media_item(3111111111111111111, "C0dEaLbUm1", CAPTION, media_type=8, children=2))

    result = publisher(store).publish(content, "k")

    assert (result.post_id, result.url) == ("3111111111111111111", "https://www.instagram.com/p/C0dEaLbUm1/")
    uploads = ig.calls("POST", RUPLOAD_PHOTO_URL)
    assert len(uploads) == 2
    assert all(
        json.loads(u.request.headers["X-Instagram-Rupload-Params"])["is_sidecar"] == "1" for u in uploads
    )
    (configure,) = ig.calls("POST", CONFIGURE_SIDECAR_URL)
    form = ig.form(configure)
    assert form["caption"] == CAPTION
    assert len(form["children_metadata"]) == 2
    assert ig.login_attempts == 0


def _rupload_params(call: Any) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(call.request.headers["X-Instagram-Rupload-Params"])
    return params


def _jpeg(body: bytes) -> Image.Image:
    assert body[:2] == b"\xff\xd8", "not a JPEG"
    return Image.open(io.BytesIO(body))


def test_single_video_is_a_reel_with_a_cover_cut_from_its_middle(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    video = make_video_mp4(tmp_path / "liputan.mp4", size=(144, 256), seconds=3)
    content = prepared_content(video)
    ig.recent([])
    ig.video_rupload()
    ig.photo_rupload()  # the cover
    ig.configure_clip(
        media_item(3222222222222222222, "C0dErEeL01", CAPTION, media_type=2, product_type="clips")
    )

    result = publisher(store).publish(content, "k")

    assert (result.post_id, result.url) == ("3222222222222222222", "https://www.instagram.com/p/C0dErEeL01/")
    assert result.payload_hash == payload_hash(build_payload("instagram", content))
    # upload settings, then the video itself, whole, under one upload id
    (settings,) = ig.calls("POST", UPLOAD_SETTINGS_URL)
    video_settings = json.loads(settings.request.body)["upload_setting_properties"]["video"]
    assert (video_settings["video_width"], video_settings["video_height"]) == (144, 256)
    assert video_settings["video_duration_milliseconds"] == 3000
    (probe,) = ig.calls("GET", RUPLOAD_VIDEO_URL)
    (upload,) = ig.calls("POST", RUPLOAD_VIDEO_URL)
    assert upload.request.body == video.read_bytes()
    params = _rupload_params(upload)
    upload_id = params["upload_id"]
    assert _rupload_params(probe)["upload_id"] == upload_id
    assert params["is_clips_video"] == "1" and params["media_type"] == "2"
    assert (params["upload_media_width"], params["upload_media_height"]) == ("144", "256")
    assert params["upload_media_duration_ms"] == "3000"
    # the cover: a real frame from the middle of the video (its green third), same upload id
    (cover,) = ig.calls("POST", RUPLOAD_PHOTO_URL)
    assert _rupload_params(cover)["upload_id"] == upload_id
    frame = _jpeg(cover.request.body)  # instagrapi scales small images up to 320 px wide
    assert abs(frame.width / frame.height - 144 / 256) < 0.02
    assert close_to(mean_color_of(frame), MIDDLE), mean_color_of(frame)
    # configured as a reel, with the caption, once
    (configure,) = ig.calls("POST", CONFIGURE_CLIPS_URL)
    form = ig.form(configure)
    assert form["upload_id"] == upload_id
    assert form["caption"] == CAPTION
    assert (form["original_width"], form["original_height"]) == (144, 256)
    assert form["length"] == 3.0
    assert form["clips_segments_metadata"]["clips_segments"][0]["duration_ms"] == 3000
    assert ig.login_attempts == 0
    assert ig.slept  # instagrapi's fixed pause before configuring was recorded, not slept


def test_landscape_reel_gets_a_portrait_cover(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    # instagrapi crops a reel's cover to 9:16 when it makes it itself; ours does the same
    ig.recent([])
    ig.video_rupload()
    ig.photo_rupload()
    ig.configure_clip(
        media_item(3222222222222222223, "C0dErEeL02", CAPTION, media_type=2, product_type="clips")
    )

    publisher(store).publish(
        prepared_content(make_video_mp4(tmp_path / "lebar.mp4", size=(320, 176), seconds=2)), "k"
    )

    (cover,) = ig.calls("POST", RUPLOAD_PHOTO_URL)
    width, height = _jpeg(cover.request.body).size
    assert abs(width / height - 9 / 16) < 0.02
    (configure,) = ig.calls("POST", CONFIGURE_CLIPS_URL)
    assert (ig.form(configure)["original_width"], ig.form(configure)["original_height"]) == (320, 176)


def test_album_with_a_video(ig: InstagramFake, store: MemorySessionStore, tmp_path: Path) -> None:
    video = make_video_mp4(tmp_path / "b.mp4", size=(160, 160), seconds=3)
    content = prepared_content(make_jpeg(tmp_path / "a.jpg"), video)
    ig.recent([])
    ig.photo_rupload(times=2)  # the image, then the video's cover
    ig.rsps.add(responses.GET, RUPLOAD_VIDEO_URL, json={"offset": 0, "status": "ok"})
    ig.rsps.add(responses.POST, RUPLOAD_VIDEO_URL, json={"status": "ok"})
    ig.configure_album(media_item(3333333333333333333, "C0dEmIxEd1", CAPTION, media_type=8, children=2))
    pub = publisher(store)

    result = pub.publish(content, "k")

    assert (result.post_id, result.url) == ("3333333333333333333", "https://www.instagram.com/p/C0dEmIxEd1/")
    (upload,) = ig.calls("POST", RUPLOAD_VIDEO_URL)
    assert upload.request.body == video.read_bytes()
    params = _rupload_params(upload)
    assert params["is_sidecar"] == "1" and params["media_type"] == "2"
    assert params["upload_media_duration_ms"] == "3000"
    image, cover = ig.calls("POST", RUPLOAD_PHOTO_URL)
    assert _rupload_params(cover)["upload_id"] == params["upload_id"]
    frame = _jpeg(cover.request.body)
    assert frame.width == frame.height  # an album cover is not cropped
    assert close_to(mean_color_of(frame), MIDDLE)
    (configure,) = ig.calls("POST", CONFIGURE_SIDECAR_URL)
    form = ig.form(configure)
    assert form["caption"] == CAPTION
    children = form["children_metadata"]
    assert [c["upload_id"] for c in children] == [_rupload_params(image)["upload_id"], params["upload_id"]]
    assert json.loads(children[1]["clips"]) == [{"length": 3.0, "source_type": "4"}]
    # the cover hand-over was for that one upload only: the client is instagrapi's own again
    assert pub._client is not None and "video_rupload" not in vars(pub._client)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: make_reel_mp4(p), id="header-without-frames"),
        pytest.param(lambda p: make_mp4(p), id="no-moov"),
        pytest.param(lambda p: _truncated(make_video_mp4(p)), id="truncated"),
    ],
)
def test_broken_video_is_refused_before_any_request(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    video = make(tmp_path / "liputan.mp4")
    assert inspect_media(video, video.name)[1]  # step 1 refuses it already; the upload checks again
    content = dataclasses.replace(
        prepared_content(),
        media=(MediaFile(video.name, str(video), "video", "mp4", video.stat().st_size, sha256_of(video)),),
    )
    with pytest.raises(RejectedContentError) as ei:
        publisher(store).publish(content, "k")
    message = str(ei.value)
    assert "Video 'liputan.mp4' tidak dapat dibaca untuk Instagram" in message
    assert "MP4 standar" in message
    assert not ig.rsps.calls


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_missing_ffmpeg_asks_the_it_officer_and_sends_nothing(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = prepared_content(make_video_mp4(tmp_path / "liputan.mp4"))
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "tidak-ada" / "ffmpeg"))
    with pytest.raises(ActionRequiredError) as ei:
        publisher(store).publish(content, "k")
    assert "ffmpeg" in str(ei.value) and "imageio-ffmpeg" in str(ei.value)
    assert not ig.rsps.calls


# ---------------------------------------------------------------------- session handling


def _logged_in_once_and_saved(ig: InstagramFake, store: MemorySessionStore) -> dict[str, Any]:
    """One login, its new session saved once and sent with the (last) configure; the saved settings."""
    assert ig.login_attempts == 1
    assert store.saves == 1
    saved = store.load()
    assert saved is not None
    assert saved["authorization_data"]["sessionid"] == NEW_SESSION
    assert auth_session(ig.calls("POST", CONFIGURE_URL)[-1]) == NEW_SESSION
    return saved


def test_first_run_logs_in_once_saves_session_and_next_run_reuses_it(
    ig: InstagramFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemorySessionStore()
    content = prepared_content(make_jpeg(tmp_path / "pameran.jpg"))
    ig.login_ok()
    ig.photo_published()

    result = publisher(store).publish(content, "k")

    assert result.status == "published"
    saved = _logged_in_once_and_saved(ig, store)
    assert saved[ACCOUNT_KEY] == USERNAME
    assert len(ig.calls("POST", CONFIGURE_URL)) == 1

    # the next run (a new publisher, same store) uses the saved session: no login at all
    ig.rsps.calls.reset()
    ig.photo_published(pk=3999999999999999999, code="C0dEnExT01")
    again = publisher(store).publish(content, "k2")
    assert again.post_id == "3999999999999999999"
    assert ig.login_attempts == 0 and store.saves == 1
    assert_no_secrets(caplog.text, repr(result), repr(again), repr(store))


@pytest.mark.parametrize("where", ["feed", "configure"])
def test_login_required_relogs_in_exactly_once_then_retries(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    caplog.set_level(logging.DEBUG)
    content = prepared_content(make_jpeg(tmp_path / "pameran.jpg"))
    if where == "feed":  # the very first request of the run (the session check)
        ig.login_required("GET", feed_url())
    else:  # the session dies between the upload and the configure
        ig.login_required("POST", CONFIGURE_URL)
    ig.login_ok()
    ig.photo_published()

    result = publisher(store).publish(content, "k")

    assert result.post_id == "3456789012345678901"
    _logged_in_once_and_saved(ig, store)
    assert_no_secrets(caplog.text, repr(result))


def test_session_refused_again_after_relogin_stops_without_a_second_login(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    ig.recent([])
    ig.photo_rupload(times=2)
    ig.login_required("POST", CONFIGURE_URL)
    ig.login_ok()
    ig.login_required("POST", CONFIGURE_URL)  # still refused with the brand-new session

    with pytest.raises(ActionRequiredError) as ei:
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")

    assert ig.login_attempts == 1
    assert len(ig.calls("POST", CONFIGURE_URL)) == 2  # the action was retried once, not more
    assert "Ini saya" in str(ei.value)


def test_stored_session_of_another_account_is_not_used(ig: InstagramFake, tmp_path: Path) -> None:
    other = session_settings() | {ACCOUNT_KEY: "akun.lain"}
    ig.login_ok()
    ig.photo_published()

    publisher(MemorySessionStore(other)).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")

    assert ig.login_attempts == 1


def test_transport_settings_come_from_the_factory_not_the_stored_session(
    ig: InstagramFake, tmp_path: Path
) -> None:
    # saved by the production client (curl transport, 1 s pause): must not override the factory's
    stored = session_settings() | {"private_transport": "curl", "request_timeout": 7}
    ig.photo_published()

    publisher(MemorySessionStore(stored)).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")

    assert ig.calls("POST", CONFIGURE_URL)  # seen by responses: still the requests transport
    assert ig.slept and 7 not in ig.slept  # instagrapi's own pauses were recorded, not 7 s


class _BrokenStore:
    def load(self) -> dict[str, Any] | None:
        raise OSError("variable backend down")

    def save(self, settings: dict[str, Any]) -> None:
        raise AssertionError("not expected")


def test_unreadable_session_store_is_transient_and_never_logs_in_blindly(
    ig: InstagramFake, tmp_path: Path
) -> None:
    pub = InstagramPublisher(USERNAME, PASSWORD, _BrokenStore(), client_factory=fast_client)
    with pytest.raises(TransientChannelError):
        pub.publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    assert not ig.rsps.calls


def test_a_failed_login_is_not_repeated_by_the_same_publisher(ig: InstagramFake, tmp_path: Path) -> None:
    ig.login_fails(503, {"message": "unavailable", "status": "fail"})
    pub = publisher(MemorySessionStore())
    content = prepared_content(make_jpeg(tmp_path / "a.jpg"))
    with pytest.raises(TransientChannelError):
        pub.publish(content, "k")
    with pytest.raises(TransientChannelError):
        pub.find_existing(content, "k")
    assert ig.login_attempts == 1


# ---------------------------------------------------------------------- person must act


def test_challenge_on_login_asks_for_the_app_and_never_logs_in_again(
    ig: InstagramFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemorySessionStore()
    pub = publisher(store)
    content = prepared_content(make_jpeg(tmp_path / "a.jpg"))
    ig.login_fails(400, challenge_body())

    with pytest.raises(ActionRequiredError) as ei:
        pub.publish(content, "k")

    message = str(ei.value)
    assert "Instagram meminta verifikasi (challenge)" in message
    assert "buka aplikasi Instagram di ponsel akun kantor" in message
    assert "setujui 'Ini saya'" in message and "jalankan ulang tugas" in message
    assert ig.login_attempts == 1
    assert not [c for c in ig.rsps.calls if "/challenge/" in (c.request.url or "")]  # no automatic resolver
    assert not ig.calls("POST", RUPLOAD_PHOTO_URL)
    # the device identity is kept (the person approves *this* device), without any session
    saved = store.load()
    assert saved is not None and saved["uuids"]["uuid"] and not saved["authorization_data"]

    # the same publisher refuses further work without another request (find_existing after it)
    ig.rsps.calls.reset()
    with pytest.raises(ActionRequiredError):
        pub.find_existing(content, "k")
    assert not ig.rsps.calls
    assert_no_secrets(caplog.text, message)


def test_next_run_after_a_challenge_presents_the_same_device(ig: InstagramFake, tmp_path: Path) -> None:
    store = MemorySessionStore()
    ig.login_fails(400, challenge_body())
    with pytest.raises(ActionRequiredError):
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    first = ig.calls("POST", LOGIN_URL)[0]

    ig.rsps.calls.reset()
    ig.login_ok()
    ig.photo_published()
    publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    second = ig.calls("POST", LOGIN_URL)[0]

    assert first.request.headers["X-IG-Device-ID"] == second.request.headers["X-IG-Device-ID"]
    assert first.request.headers["X-IG-Android-ID"] == second.request.headers["X-IG-Android-ID"]


def test_challenge_with_a_stored_session_needs_no_login_at_all(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    ig.photo_uploaded()
    ig.rsps.add(responses.POST, CONFIGURE_URL, status=400, json=challenge_body())

    with pytest.raises(ActionRequiredError) as ei:
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")

    assert "Ini saya" in str(ei.value)
    assert ig.login_attempts == 0


def test_two_factor_on_login(ig: InstagramFake, tmp_path: Path) -> None:
    ig.login_fails(
        400,
        {
            "message": "",
            "two_factor_required": True,
            "two_factor_info": {
                "username": USERNAME,
                "two_factor_identifier": "abc",
                "totp_two_factor_on": True,
            },
            "error_type": "two_factor_required",
            "status": "fail",
        },
    )
    with pytest.raises(ActionRequiredError) as ei:
        publisher(MemorySessionStore()).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    assert "2FA" in str(ei.value) and "aplikasi Instagram" in str(ei.value)
    assert ig.login_attempts == 1


def test_feedback_required_on_configure(ig: InstagramFake, store: MemorySessionStore, tmp_path: Path) -> None:
    ig.photo_uploaded()
    ig.rsps.add(
        responses.POST,
        CONFIGURE_URL,
        status=400,
        json={
            "message": "feedback_required",
            "feedback_title": "Try Again Later",
            "feedback_message": "We restrict certain activity to protect our community.",
            "spam": True,
            "status": "fail",
        },
    )
    with pytest.raises(ActionRequiredError) as ei:
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    message = str(ei.value)
    assert "membatasi tindakan" in message and "aplikasi Instagram" in message
    assert "We restrict certain activity" in message
    assert ig.login_attempts == 0


def test_bad_password_names_the_connection(ig: InstagramFake, tmp_path: Path) -> None:
    ig.login_fails(
        400,
        {
            "message": "The password you entered is incorrect. Please try again.",
            "invalid_credentials": True,
            "error_type": "bad_password",
            "status": "fail",
        },
    )
    with pytest.raises(CredentialsError) as ei:
        publisher(MemorySessionStore()).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    assert "sop_instagram" in str(ei.value) and PASSWORD not in str(ei.value)
    assert ig.login_attempts == 1


def test_missing_password_fails_before_any_request(ig: InstagramFake, tmp_path: Path) -> None:
    pub = InstagramPublisher(USERNAME, "", MemorySessionStore(), client_factory=fast_client)
    with pytest.raises(CredentialsError, match="sop_instagram"):
        pub.publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    assert not ig.rsps.calls


# ---------------------------------------------------------------------- wait / retry / refused


def test_please_wait_a_few_minutes_is_rate_limited_for_ten_minutes(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    ig.recent(
        status=400, body={"message": "Please wait a few minutes before you try again.", "status": "fail"}
    )
    before = datetime.now(UTC)

    with pytest.raises(RateLimitedError) as ei:
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")

    reset = ei.value.reset_at
    assert reset.tzinfo is not None and reset.utcoffset() == timedelta(0)
    assert before + timedelta(minutes=9) < reset < datetime.now(UTC) + timedelta(minutes=11)
    assert ig.login_attempts == 0


@pytest.mark.parametrize(
    ("where", "status", "answer", "error", "says"),
    [
        pytest.param(
            "configure",
            429,
            {"json": {"message": "rate limited", "status": "fail"}},
            RateLimitedError,
            (),
            id="http-429-is-rate-limited",
        ),
        *(
            pytest.param(
                "configure",
                status,
                {"body": "<html>Oops</html>"},
                TransientChannelError,
                ("dicoba lagi",),
                id=f"server-error-{status}-is-transient",
            )
            for status in (500, 503)
        ),
        pytest.param(
            "upload", 502, {"body": "Bad Gateway"}, TransientChannelError, (), id="upload-5xx-is-transient"
        ),
        # nothing answers the configure: responses refuses the connection
        pytest.param("configure", None, {}, TransientChannelError, (), id="connection-failure-is-transient"),
        pytest.param(
            "configure",
            400,
            {"json": {"message": "Uploaded image isn't in an allowed aspect ratio", "status": "fail"}},
            RejectedContentError,
            ("aspect ratio", "caption_instagram"),
            id="media-refused-is-rejected-content",
        ),
        pytest.param(
            "upload",
            400,
            {"json": {"message": "bad image", "status": "fail"}},
            RejectedContentError,
            (),
            id="upload-4xx-is-rejected-content",
        ),
    ],
)
def test_a_refused_upload_or_configure_raises_its_error(
    ig: InstagramFake,
    store: MemorySessionStore,
    tmp_path: Path,
    where: str,
    status: int | None,
    answer: dict[str, Any],
    error: type[Exception],
    says: tuple[str, ...],
) -> None:
    """``status`` is what Instagram answers at ``where`` (the photo upload or the configure);
    ``None``: no answer at all."""
    if where == "upload":
        ig.recent([])
        ig.rsps.add(responses.POST, RUPLOAD_PHOTO_URL, status=status, **answer)
    else:
        ig.photo_uploaded()
        if status is not None:
            ig.rsps.add(responses.POST, CONFIGURE_URL, status=status, **answer)
    with pytest.raises(error) as ei:
        publisher(store).publish(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    for text in says:
        assert text in str(ei.value)


def test_more_than_ten_items_or_none_are_refused_without_requests(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    one = prepared_content(make_jpeg(tmp_path / "a.jpg"))
    pub = publisher(store)
    with pytest.raises(RejectedContentError):
        pub.publish(PreparedContent(**{**one.__dict__, "media": one.media * 11}), "k")
    with pytest.raises(RejectedContentError):
        pub.publish(PreparedContent(**{**one.__dict__, "media": ()}), "k")
    assert not ig.rsps.calls


# ---------------------------------------------------------------------- find_existing, test_connection


def test_find_existing_matches_the_caption_in_recent_media(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    content = prepared_content(make_jpeg(tmp_path / "a.jpg"))
    reflowed = "  " + CAPTION.replace("\n\n", "\n \n").replace(" dibuka", "\tdibuka") + "\n"
    ig.recent(
        [
            media_item(3000000000000000001, "C0dEoTher1", "Kiriman lain"),
            media_item(3000000000000000002, "C0dEsAmE01", reflowed),
        ]
    )

    found = publisher(store).find_existing(content, "k")

    assert found is not None
    assert (found.post_id, found.url) == ("3000000000000000002", "https://www.instagram.com/p/C0dEsAmE01/")
    assert found.status == "published" and found.mode == "live"
    assert found.payload_hash == payload_hash(build_payload("instagram", content))
    (feed,) = ig.calls("GET", feed_url())
    assert feed.request.params["count"] == "20"
    assert ig.login_attempts == 0


def test_find_existing_returns_none_when_no_caption_matches(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    ig.recent([media_item(3000000000000000001, "C0dEoTher1", CAPTION + " (versi lama)")])
    found = publisher(store).find_existing(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")
    assert found is None


def test_find_existing_does_not_answer_none_when_the_feed_fails(
    ig: InstagramFake, store: MemorySessionStore, tmp_path: Path
) -> None:
    ig.recent(status=503, body={"message": "unavailable", "status": "fail"})
    with pytest.raises(TransientChannelError):
        publisher(store).find_existing(prepared_content(make_jpeg(tmp_path / "a.jpg")), "k")


def test_test_connection(ig: InstagramFake, store: MemorySessionStore) -> None:
    ig.recent([])
    assert publisher(store).test_connection() == (
        True,
        f"Terhubung ke Instagram sebagai {USERNAME}",
    )
    ig.login_fails(400, challenge_body())
    ok, message = publisher(MemorySessionStore()).test_connection()
    assert not ok and "Ini saya" in message


def test_default_client_follows_instagrapi_advice_on_delays() -> None:
    pub = InstagramPublisher(USERNAME, PASSWORD, MemorySessionStore())
    client = pub._default_client()
    assert client.delay_range == [1, 3]
