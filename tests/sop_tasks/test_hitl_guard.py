from sop_tasks.airflow.hitl_guard import reason_missing
from sop_tasks.approval import OPTION_NO, OPTION_YES

PARAMS = {"alasan": {"value": None}}


def test_tidak_needs_a_reason():
    assert reason_missing({"chosen_options": [OPTION_NO], "params_input": {"alasan": "  "}}, PARAMS)
    assert reason_missing({"chosen_options": [OPTION_NO], "params_input": {}}, PARAMS)
    assert not reason_missing(
        {"chosen_options": [OPTION_NO], "params_input": {"alasan": "salah tanggal"}}, PARAMS
    )
    assert not reason_missing({"chosen_options": [OPTION_YES], "params_input": {"alasan": None}}, PARAMS)
    assert not reason_missing({"chosen_options": ["Tidak"], "params_input": {}}, {})  # not an SOP approval
