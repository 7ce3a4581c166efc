"""workflow.patched() ids of the journey workflow: each marks a change that recorded histories must still replay
through (tests/replay/histories). A new change to the commands an existing step issues adds an id here and asks it
on the path that changed; a new step type or a new definition field needs none (no history has it)."""

from __future__ import annotations

STEP_ATTRIBUTE_ON_WAITS_ONLY = "step-attribute-on-waits-only"
DEAD_LETTER_ON_FAILURE = "dead-letter-on-failure"
SEND_LOCAL_FIRST = "send-local-first"
# Asked only where a send failed for good (a healthy journey pays no marker), as DEAD_LETTER_ON_FAILURE is: the
# marker follows the send's failure in the same workflow task, in the first run and in every replay (history
# journey_v4_send_failure_branch). Records a `send` dead letter and follows the step's on_failure branch.
SEND_FAILURE_BRANCH = "send-failure-branch"
# Asked only by a journey whose input says its workspace takes journey.completed (the dispatcher sets it), after
# its last step, in the workflow task that completes it (history journey_v5_announced_completion): other journeys
# pay no marker and no command.
ANNOUNCE_COMPLETION = "announce-completion"
# Asked at each non-transactional send (send_email, send_sms, send_push), before it: the send-policy gate (frequency
# caps, quiet hours; workflows/steps/send_gate.py) runs as a local activity there. Histories recorded before it
# replay without the gate.
SEND_POLICY_GATE = "send-policy-gate"
