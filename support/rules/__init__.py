"""Business rules: triggers on ticket events, automations on time, run safely.

- `conditions`: what a rule may test, evaluated on one ticket (`matches`) or as SQL (`as_q`).
- `actions`: what a rule may do, checked against its author's rights, planned and executed.
- `engine`: triggers in the creating transaction and after commit; the loop guard; disabling.
- `automations`: the set-based beat job.
- `services`: creating, changing, ordering and enabling rules, audited and versioned.
- `dry_run`: what a rule would do on recent tickets, computed by the same planner.
"""
