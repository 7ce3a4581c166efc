"""The journeys the kill drills run, and what each must send (drills.worker_kill, drills.server_restart).

- `single-send`: triggered by "Drill Started", one email to every contact.
- `abandoned-cart`: triggered by "Cart Abandoned"; wait_for_event "Order Completed" with a short timeout (`wait`,
  default PT20S); on the event -> end (the purchase exits); on the timeout -> send_email reminder -> end. The even
  contacts complete their order right after abandoning their cart (before the timeout), so the odd ones, and
  only they, must get exactly one reminder each.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import segment
from bench.stack import Stack

MODES = ("single-send", "abandoned-cart")
SINGLE_TRIGGER = "Drill Started"
CART_TRIGGER = "Cart Abandoned"
ORDER = "Order Completed"


def address(index: int) -> str:
    return f"drill{index}@drill.example.test"


@dataclass(frozen=True)
class DrillJourney:
    mode: str
    contacts: int
    wait: str = "PT20S"  # abandoned-cart: how long a cart waits for its order

    def purchases(self, index: int) -> bool:
        return self.mode == "abandoned-cart" and index % 2 == 0

    def expected(self) -> list[str]:
        """The addresses that must receive exactly one email."""
        return [address(i) for i in range(self.contacts) if not self.purchases(i)]

    def forbidden(self) -> list[str]:
        """The addresses that must receive none (the purchasers)."""
        return [address(i) for i in range(self.contacts) if self.purchases(i)]

    def definition(self) -> dict[str, object]:
        if self.mode == "single-send":
            return {
                "trigger": {"event": SINGLE_TRIGGER},
                "start": "hello",
                "steps": [
                    {"id": "hello", "type": "send_email", "subject": "Drill {{ contact.first_name }}", "text": "Hi."}
                ],
            }
        return {
            "trigger": {"event": CART_TRIGGER},
            "start": "await_order",
            "steps": [
                {
                    "id": "await_order",
                    "type": "wait_for_event",
                    "event": ORDER,
                    "timeout": self.wait,
                    "on_event": "purchased",
                    "on_timeout": "reminder",
                },
                {"id": "purchased", "type": "end"},
                {
                    "id": "reminder",
                    "type": "send_email",
                    "subject": "Your cart, {{ contact.first_name }}",
                    "text": "It is still waiting.",
                    "next": "done",
                },
                {"id": "done", "type": "end"},
            ],
        }

    def messages(self, kind: str, start: int, stop: int) -> list[segment.Message]:
        if kind == "identify":
            return [segment.identify(f"d{i}", {"email": address(i), "firstName": f"D{i}"}) for i in range(start, stop)]
        if kind == "order":
            return [segment.track(f"d{i}", ORDER, {"total": 42}) for i in range(start, stop) if self.purchases(i)]
        trigger = SINGLE_TRIGGER if self.mode == "single-send" else CART_TRIGGER
        return [segment.track(f"d{i}", trigger) for i in range(start, stop)]

    async def ingest(self, stack: Stack) -> None:
        """Identify every contact, trigger every one, then (abandoned-cart) the purchasers' orders, 100 a batch."""
        kinds = ("identify", "trigger") + (("order",) if self.mode == "abandoned-cart" else ())
        stats = segment.IngestStats()
        async with segment.ingestion_client(stack.api_url, stack.write_key, 4) as http:
            for kind in kinds:
                for start in range(0, self.contacts, 100):
                    batch = self.messages(kind, start, min(self.contacts, start + 100))
                    if batch:
                        await segment.send_batch(http, batch, stats)
