from sop_tasks.airflow.hitl_guard import missing_required
from sop_tasks.approval import OPTION_NO, OPTION_YES
from sop_tasks.followup import OPTION_NO_REPLY, OPTION_REPLY, OPTION_REROUTE

VERIFY = {"alasan": {"value": None}}
FOLLOW = {"reply": {}, "alasan": {}, "bidang_tujuan": {}, "ppid": {}}


def _ask(option, params_input, params):
    return missing_required({"chosen_options": [option], "params_input": params_input}, params)


def test_tidak_needs_a_reason():
    assert "Alasan wajib" in _ask(OPTION_NO, {"alasan": "  "}, VERIFY)
    assert _ask(OPTION_NO, {}, VERIFY)
    assert _ask(OPTION_NO, {"alasan": "salah tanggal"}, VERIFY) is None
    assert _ask(OPTION_YES, {"alasan": None}, VERIFY) is None
    assert _ask("Tidak", {}, {}) is None  # not one of our forms


def test_follow_up_options_need_their_field():
    assert "reply" in _ask(OPTION_REPLY, {"reply": ""}, FOLLOW)
    assert _ask(OPTION_REPLY, {"reply": "Jam 8 pagi, Kak"}, FOLLOW) is None
    assert "Alasan" in _ask(OPTION_NO_REPLY, {"alasan": None}, FOLLOW)
    assert "bidang_tujuan" in _ask(OPTION_REROUTE, {"bidang_tujuan": None}, FOLLOW)
    assert _ask(OPTION_REROUTE, {"bidang_tujuan": "kearsipan"}, FOLLOW) is None


def test_values_outside_the_stored_form_are_refused_with_the_choices():
    from sop_tasks.airflow.hitl_guard import invalid_values

    params = {
        "bidang_tujuan": {
            "value": None,
            "schema": {
                "type": ["null", "string"],
                "enum": [None, "kearsipan", "sekretariat"],
                "values_display": {"kearsipan": "Bidang Kearsipan", "sekretariat": "Sekretariat"},
                "title": "Bidang tujuan (untuk Teruskan)",
            },
        },
        "ppid": {"value": False, "schema": {"type": "boolean", "title": "Permohonan informasi publik"}},
    }
    msg = invalid_values({"bidang_tujuan": "Sekretariat", "ppid": False}, params)
    assert msg and "'Sekretariat' bukan pilihan" in msg and "sekretariat (Sekretariat)" in msg
    assert "Permohonan informasi publik" in invalid_values({"ppid": "ya"}, params)
    assert invalid_values({"bidang_tujuan": "kearsipan", "ppid": True}, params) is None
    assert invalid_values({"bidang_tujuan": None, "unknown": 1}, params) is None


def test_tidak_message_names_the_option_chosen():
    assert "'Tidak perlu dibalas" in _ask(OPTION_NO_REPLY, {"alasan": ""}, FOLLOW)
