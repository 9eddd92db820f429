"""SOP step 10 in the domain: what an update changes per channel, its diff, and the versions kept."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from sop_tasks import update
from sop_tasks.content import PreparedContent, fit_for_x, prepare
from sop_tasks.errors import ContentError
from sop_tasks.records.ledger import Ledger, VersionTaken
from tests.support.media import make_jpeg, make_png


@pytest.fixture
def base(office_cfg, media_dir: Path, tmp_path: Path) -> PreparedContent:
    name = f"brosur-{uuid.uuid4().hex[:6]}.jpg"
    make_jpeg(media_dir / name)
    return prepare(
        {
            "title": "Jam layanan perpustakaan",
            "body": "Buka Senin–Jumat 08.00–15.00.\nSabtu tutup.",
            "channels": ["website", "instagram", "twitter"],
            "media": [name],
        },
        office_cfg,
        tmp_path / "asli",
    )


def _plan(base: PreparedContent, form: dict, office_cfg, tmp_path: Path, **kw) -> update.UpdatePlan:
    args = {
        "original_id": 7,
        "base": base,
        "base_version": 1,
        "next_version": 2,
        "live": {c: base for c in ("website", "instagram", "twitter")},
        "cfg": office_cfg,
        "staging": tmp_path / "baru",
    }
    if "published" in kw:
        args["live"] = {c: args["base"] for c in kw.pop("published")}
    if "base" in kw:
        args["live"] = {c: kw["base"] for c in args["live"]}
    args.update(kw)
    return update.plan({"reason": "Jam layanan berubah mulai Desember", **form}, **args)


def test_empty_fields_keep_live_values_and_derived_texts_follow_the_new_body(base, office_cfg, tmp_path):
    p = _plan(base, {"body": "Buka Senin–Sabtu 08.00–16.00."}, office_cfg, tmp_path)
    c = p.content
    assert c.title == base.title and c.media == base.media  # kept, media not staged again
    assert c.body == "Buka Senin–Sabtu 08.00–16.00."
    assert c.caption_instagram == f"{base.title}\n\n{c.body}"  # derived again from the new body
    assert c.text_twitter == fit_for_x(f"{base.title}\n\n{c.body}")
    assert c.channels == ("website", "instagram", "twitter")
    assert p.unchanged == ()
    assert "-Buka Senin–Jumat 08.00–15.00." in p.diff and "+Buka Senin–Sabtu 08.00–16.00." in p.diff
    assert p.diff.startswith("--- versi 1\n+++ versi 2")
    assert any("diubah di tempat" in n for n in p.notes)
    assert any("balasan koreksi" in n for n in p.notes)  # config x_update: reply


def test_hand_written_texts_stay_until_changed_and_unchanged_channels_are_left_alone(
    base, office_cfg, tmp_path
):
    hand = dataclasses.replace(base, caption_instagram="Info layanan #Kendal", text_twitter="Info layanan")
    p = _plan(hand, {"body": "Buka Senin–Sabtu."}, office_cfg, tmp_path)
    assert p.content.caption_instagram == "Info layanan #Kendal"
    assert p.content.channels == ("website",)  # Instagram and X texts did not change
    assert p.unchanged == ("instagram", "twitter")

    p = _plan(hand, {"text_twitter": "Ralat: Sabtu buka"}, office_cfg, tmp_path, next_version=4)
    assert p.content.channels == ("twitter",) and p.content.text_twitter == "Ralat: Sabtu buka"
    assert "+++ versi 4" in p.diff


def test_new_media_changes_the_website_but_only_a_note_for_instagram(base, office_cfg, media_dir, tmp_path):
    name = f"baru-{uuid.uuid4().hex[:6]}.png"
    make_png(media_dir / name)
    p = _plan(base, {"media": [name]}, office_cfg, tmp_path)
    assert p.content.channels == ("website",)  # X in reply mode posts text; IG cannot swap media
    assert [m.name for m in p.content.media] == [name]
    assert f"+- {name}" in p.diff

    repost = office_cfg.model_copy(
        update={"follow_up": office_cfg.follow_up.model_copy(update={"x_update": "repost"})}
    )
    p = _plan(base, {"media": [name], "caption_instagram": "Baru #Kendal"}, repost, tmp_path)
    assert p.content.channels == ("website", "instagram", "twitter")
    ig_note = next(n for n in p.notes if n.startswith("Instagram"))
    assert "media kiriman tetap" in ig_note
    assert any("DIHAPUS lalu diunggah ulang" in n for n in p.notes)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"reason": ""}, "Alasan pemutakhiran (reason) wajib diisi"),
        ({"title": "x"}, "Tidak ada yang berubah"),  # IG only: a new title leaves its caption as is
        ({"channels": ["website", "facebook"], "body": "baru"}, "facebook"),
        ({"text_twitter": "y" * 300}, "280"),
    ],
)
def test_bad_update_forms_say_what_to_fix(base, office_cfg, tmp_path, form, expected):
    published = ["instagram"] if "title" in form else ["website", "instagram", "twitter"]
    hand = dataclasses.replace(base, caption_instagram="Tetap #Kendal")
    with pytest.raises(ContentError) as exc:
        _plan(hand, form, office_cfg, tmp_path, published=published)
    assert expected in str(exc.value)


def test_same_content_again_is_refused_and_outside_channel_named(base, office_cfg, tmp_path):
    with pytest.raises(ContentError) as exc:
        _plan(base, {"title": base.title}, office_cfg, tmp_path)
    assert "Tidak ada yang berubah" in str(exc.value) and "versi 1" in str(exc.value)
    with pytest.raises(ContentError) as exc:
        _plan(base, {"channels": ["twitter"], "body": "baru"}, office_cfg, tmp_path, published=["website"])
    msg = str(exc.value)
    assert "X" in msg and "tidak ada dalam unggahan pengajuan 7" in msg and "sop_publish" in msg


def test_live_media_gone_from_staging_asks_for_media_again(base, office_cfg, tmp_path):
    Path(base.media[0].path).unlink()
    with pytest.raises(ContentError) as exc:
        _plan(base, {"body": "baru"}, office_cfg, tmp_path)
    assert "isi ulang kolom 'media'" in str(exc.value)


def _submission(ledger: Ledger, content: PreparedContent, kind: str = "publish") -> int:
    return ledger.open_submission(
        dag_id=f"sop_{kind}",
        run_id=f"manual__{uuid.uuid4().hex}",
        kind=kind,
        title=content.title,
        content=content.to_json(),
    )


def test_versions_numbered_retry_safe_and_live_posts_follow_reposts(base, tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    orig = _submission(ledger, base)
    for ch, post in (("website", "11"), ("twitter", "900")):
        ledger.add_channel_result(
            orig, ch, mode="live", status="published", idempotency_key=f"k-{ch}", post_id=post, url=f"u{post}"
        )
    assert ledger.live_version(orig) == (1, base.to_json())
    v2_content = dataclasses.replace(base, body="versi dua", channels=("website", "twitter"))
    u2 = _submission(ledger, v2_content, "update")
    assert ledger.next_version(orig) == 2
    v = ledger.add_content_version(orig, u2, version=2, content=v2_content.to_json(), diff="d", reason="r")
    assert v.version == 2
    again = ledger.add_content_version(orig, u2, version=2, content={}, diff="", reason="")  # a retry
    assert again.id == v.id
    assert ledger.live_version(orig)[0] == 1  # proposed, not applied yet

    ledger.add_channel_result(
        u2,
        "website",
        mode="live",
        status="published",
        idempotency_key="k2",
        post_id="11",
        url="u11",
        action="update",
    )
    ledger.add_channel_result(
        u2,
        "twitter",
        mode="live",
        status="published",
        idempotency_key="k3",
        post_id="901",
        url="u901",
        action="repost",
    )
    assert ledger.live_version(orig) == (2, v2_content.to_json())
    live = ledger.live_posts(orig)
    assert (live["website"].post_id, live["twitter"].post_id) == ("11", "901")
    u3 = _submission(ledger, base, "update")
    with pytest.raises(VersionTaken):  # prepared at the same moment as u2: must rerun
        ledger.add_content_version(orig, u3, version=2, content={}, diff="", reason="")
    assert ledger.next_version(orig) == 3
    summary = ledger.summary_for_run("sop_update", ledger.submission(u2).run_id)
    assert summary["status"] == "diperbarui"
    assert summary["update"] == {"of": orig, "version": 2, "reason": "r", "diff": "d"}
    assert summary["channels"]["twitter"]["action"] == "repost"


def test_records_show_every_version_with_reason_diff_and_what_is_live(base, tmp_path, capsys):
    from sop_tasks import cli

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger(url)
    orig = _submission(ledger, base)
    ledger.add_channel_result(
        orig,
        "website",
        mode="live",
        status="published",
        idempotency_key="k",
        post_id="5",
        url="http://s/?p=5",
    )
    new = dataclasses.replace(base, body="Sabtu buka\x1b[2J", channels=("website",))
    diff = update.diff(base, new, old_version=1, new_version=2)
    u2 = _submission(ledger, new, "update")
    ledger.add_content_version(
        orig, u2, version=2, content=new.to_json(), diff=diff, reason="Jam berubah\x1b]0;x\x07"
    )
    u3 = _submission(ledger, new, "update")  # returned by a verifier: never live
    ledger.add_content_version(orig, u3, version=3, content=new.to_json(), diff="", reason="Coba lagi")
    ledger.add_event(u3, 3, "returned", actor="kabid", reason="belum pasti")
    ledger.add_channel_result(
        u2,
        "website",
        mode="live",
        status="published",
        idempotency_key="k2",
        post_id="5",
        url="http://s/?p=5",
        action="update",
    )

    assert cli.main(["records", "versi", str(u3), "--db", url]) == 0  # an update's number works too
    out = capsys.readouterr().out
    assert f"Versi pengajuan #{orig}" in out and "versi 1: unggahan asli" in out
    line2 = next(ln for ln in out.splitlines() if "versi 2:" in ln)
    assert line2.startswith(f"  versi 2: pemutakhiran #{u2} [diperbarui] (") and line2.endswith(
        "← tayang di: Website"
    )
    assert f"versi 3: pemutakhiran #{u3} [dikembalikan] (" in out
    assert "alasan: Jam berubah" in out and "+Sabtu buka" in out and "\x1b" not in out
    assert out.count("← tayang di") == 1

    assert cli.main(["records", "list", "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"pemutakhiran #{orig}, versi 2 — alasan: Jam berubah" in out
    assert "website: published (diperbarui di tempat) http://s/?p=5" in out
    assert cli.main(["records", "versi", "999", "--db", url]) == 1
    assert "Pengajuan 999 tidak ada" in capsys.readouterr().err


def test_run_note_of_an_update_names_the_original_reason_and_what_each_channel_did():
    from sop_tasks.notes import run_note

    note = run_note(
        {
            "id": 9,
            "status": "diperbarui",
            "update": {"of": 4, "version": 2, "reason": "Jam **berubah**", "diff": "-a\n+b"},
            "steps": {},
            "channels": {
                "website": {"status": "published", "action": "update", "url": "http://s/?p=5"},
                "twitter": {"status": "published", "action": "reply", "url": "https://x.com/d/status/7"},
            },
        }
    )
    assert "Pemutakhiran pengajuan #4, versi 2" in note and "~~~text\nJam **berubah**\n~~~" in note
    assert "- Website: diperbarui di tempat — http://s/?p=5" in note
    assert "balasan koreksi diunggah — https://x.com/d/status/7" in note


def test_a_channel_left_out_of_an_update_is_compared_with_what_it_still_shows(base, office_cfg, tmp_path):
    # Version 2 changed the title on the website only; Instagram still shows version 1's caption.
    joined = f"Jam layanan baru\n\n{base.body}"
    v2 = dataclasses.replace(
        base, title="Jam layanan baru", caption_instagram=joined, text_twitter=fit_for_x(joined)
    )
    p = _plan(
        v2,
        {"channels": ["instagram"]},
        office_cfg,
        tmp_path,
        base_version=2,
        next_version=3,
        live={"website": v2, "instagram": base, "twitter": base},
    )
    assert p.content.channels == ("instagram",)  # its derived caption now follows the new title
    assert p.content.caption_instagram.startswith("Jam layanan baru")


def test_outbox_only_channels_with_a_connection_now_are_named_or_left_alone(base, office_cfg, tmp_path):
    with pytest.raises(ContentError) as exc:
        _plan(base, {"channels": ["twitter"], "body": "baru"}, office_cfg, tmp_path, stranded=["twitter"])
    assert "X (Twitter): pengajuan 7 dulu hanya ditulis ke outbox" in str(exc.value)
    p = _plan(base, {"body": "Buka Senin–Sabtu."}, office_cfg, tmp_path, stranded=["twitter"])
    assert "twitter" not in p.content.channels
    assert any(n.startswith("X (Twitter): hanya ada di outbox") for n in p.notes)
    with pytest.raises(ContentError, match="tidak punya kiriman di platform"):
        _plan(base, {"body": "baru"}, office_cfg, tmp_path, stranded=["website", "instagram", "twitter"])


def test_a_refused_update_removes_the_media_it_staged_and_keeps_the_live_ones(
    base, office_cfg, media_dir, tmp_path
):
    name = f"baru-{uuid.uuid4().hex[:6]}.png"
    make_png(media_dir / name)
    # Instagram only, X in reply mode: new media change nothing there, so the update is refused
    with pytest.raises(ContentError, match="Tidak ada yang berubah"):
        _plan(base, {"media": [name]}, office_cfg, tmp_path, published=["instagram"])
    assert not (tmp_path / "baru").exists()
    assert all(Path(m.path).is_file() for m in base.media)  # what is live stays staged
    with pytest.raises(ContentError, match="Tidak ada yang berubah"):
        _plan(base, {"title": base.title}, office_cfg, tmp_path)  # keeps the live media: untouched
    assert all(Path(m.path).is_file() for m in base.media)
