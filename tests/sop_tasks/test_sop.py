from sop_tasks.sop import STEPS, VERIFY_STEPS, Actor, step


def test_ten_steps_with_standard_times_from_the_sop():
    assert [s.number for s in STEPS] == list(range(1, 11))
    assert {s.number: s.standard_minutes for s in STEPS} == {
        1: 60,
        2: 15,
        3: 15,
        4: 15,
        5: 30,
        6: 60,
        7: 5,
        8: None,
        9: 5,
        10: 120,
    }


def test_verifiers_are_kasubag_kabid_kadis_in_order():
    assert [s.actor for s in VERIFY_STEPS] == [Actor.KASUBAG, Actor.KABID, Actor.KADIS]
    assert [s.number for s in VERIFY_STEPS] == [2, 3, 4]


def test_task_ids_and_display_names_carry_step_numbers():
    assert step(2).task_id == "sop02_verifikasi_kasubag"
    assert step(10).task_id == "sop10_pemutakhiran"
    assert step(5).display_name.startswith("5. ")
    assert step(3).standard_seconds == 900
    assert step(8).standard_seconds is None
    assert len({s.task_id for s in STEPS}) == 10
