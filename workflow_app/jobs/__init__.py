"""Background work: outbox relay and delivery (RQ), and the periodic scheduler."""
