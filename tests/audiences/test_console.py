"""The Audiences console, driven in-process over a real store: build, rates, lookalike, activate."""

from __future__ import annotations

import re

from tests.audiences.conftest import add_user_list
from widgets.audiences import AudiencesConsole


def test_the_console_builds_rates_trains_and_activates(room, activation_root):
    add_user_list(room)
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    ui = AudiencesConsole(room.owner, room.id)
    assert ui.room.value == room.id and ui.question.options[0][0] == "buyers"
    assert list(ui.param_widgets) == ["min_amount"]
    ui.build.click()
    assert "name the cohort" in ui.status.text
    ui.name.value = "Buyers"
    ui.build.click()
    assert "built Buyers" in ui.status.text and "Buyers" in ui.table.value
    ui.rates_button.click()
    assert "match rates released" in ui.status.text and "email" in ui.rates.value
    ui.look_name.value, ui.features.value = "Alike", "segment, visits"
    ui.train.click()
    assert "trained Alike" in ui.status.text and "recall" in ui.curve.value
    # a seed of a few hundred makes a handful of blocks: the curve's error is shown, and called noise
    assert "± 95%" in ui.curve.value and "Mostly noise" in ui.curve.value
    ui.percent.value = 20
    ui.pick_size.click()
    # 20% of the released (noisy) number of the 600 users: about 120, never the exact figure's
    picked = re.search(r"holds (\d+) people", ui.status.text)
    assert picked and abs(int(picked.group(1)) - 120) <= 6, ui.status.text
    ui.dest_name.value, ui.dest_format.value, ui.dest_path.value = "gam", "gam", "../out"
    ui.add_dest.click()
    assert "activation root" in ui.status.text and ui.destination.options == ()
    ui.dest_path.value = "gam"
    ui.add_dest.click()
    ui.activate_cohort.value = next(v for k, v in ui.activate_cohort.options if k == "Buyers")
    ui.activate.click()
    assert "exported Buyers v1: 200 ids" in ui.status.text
    assert "3 per day" in ui.history.value


def test_the_partner_sees_sizes_and_history_but_cannot_activate(room, activation_root):
    qid = add_user_list(room)
    room.owner.create_cohort(room.id, "Buyers", qid, {"min_amount": 0})
    ui = AudiencesConsole(room.partner, room.id)
    assert "Buyers" in ui.table.value and ui.destination.options == ()
    assert ui.activate.disabled and "activation party" in ui.activation_note.value
    assert "no activation yet" in ui.history.value
