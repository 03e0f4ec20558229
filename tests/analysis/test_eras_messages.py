"""Era rules and the runtime's own messages: what each era says, and parsing it back."""

from __future__ import annotations

from forensics.analysis.eras import (
    diverged_message,
    eras_of_message,
    span,
    step_mismatch_message,
    unconsumed_eras,
    unconsumed_message,
)
from forensics.analysis.messages import Failure, error_message, parse_failure

CID = "step_01KVD59BK322QSTCDR5Q5R15D3"
EID = "evnt_01KVD59BST9KAQDE9EBKN4JSG3"


def test_which_eras_fail_on_an_unconsumed_event() -> None:
    assert unconsumed_eras("step_started", ["step_created", "step_started"]) == ("E0", "E1", "E2")
    assert unconsumed_eras("step_failed", ["step_completed"]) == ("E0", "E1", "E2")
    assert unconsumed_eras("hook_received", []) == ("E0", "E1", "E2")
    assert unconsumed_eras("step_retrying", ["step_created"]) == ("E0", "E1", "E2", "E3", "E4")


def test_messages_per_era() -> None:
    assert unconsumed_message("E1", "step_completed", CID, EID) == (
        f"Unconsumed event in event log: eventType=step_completed, correlationId={CID},"
        f" eventId={EID}. This indicates a corrupted or invalid event log."
    )
    assert unconsumed_message("E2", "run_failed", None, EID) == (
        f"Replay could not consume event: eventType=run_failed, correlationId=undefined,"
        f" eventId={EID}."
    )
    assert step_mismatch_message("E2", "step_created", CID, "a", "b") == (
        f'Replay divergence: step event step_created for {CID} belongs to "a",'
        ' but the current step consumer is "b"'
    )
    assert span(("E0", "E1", "E2")) == "E0-E2"
    assert span(("E0", "E2")) == "E0, E2"
    assert span(()) == "no era"


def test_parse_each_wording_back() -> None:
    unconsumed = unconsumed_message("E2", "step_completed", CID, EID)
    assert parse_failure(diverged_message(EID, unconsumed)) == Failure(
        "unconsumed", "step_completed", CID, EID, divergences=4, recovery_replays=3
    )
    assert parse_failure(unconsumed_message("E0", "step_started", CID, EID)) == Failure(
        "unconsumed", "step_started", CID, EID
    )
    assert parse_failure(step_mismatch_message("E1", "step_created", CID, "a", "b")) == Failure(
        "step-mismatch", "step_created", CID, None, "a", "b"
    )
    resume = (
        f'Replay divergence: wait_completed event for {CID} has resumeAt "x",'
        ' but the current wait consumer expects "y"'
    )
    assert parse_failure(resume) == Failure(
        "resume-at-mismatch", "wait_completed", CID, None, "x", "y"
    )
    assert parse_failure("Something else broke") == Failure("unknown")
    assert eras_of_message(unconsumed) == ("E2", "E3", "E4")
    assert eras_of_message("Corrupted event log: step event") == ("E0", "E1")


def test_error_message_from_payload_shapes() -> None:
    assert error_message("plain") == "plain"
    assert error_message({"message": "m", "stack": "s"}) == "m"
    assert error_message({"__type": "Error", "value": {"message": "inner"}}) == "inner"
    assert error_message(42) is None
