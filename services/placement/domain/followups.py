"""Which 6- and 12-month follow-ups are due: the one rule lives in ``shared.followups``
(casework follows up the jobs participants found on their own by it too)."""

from shared.followups import DueFollowUp, StartedJob, due, end_of_week

__all__ = ["DueFollowUp", "StartedJob", "due", "end_of_week"]
