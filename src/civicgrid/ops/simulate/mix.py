"""The simulation's proportions: channels, kinds, hours and the odds of every turn a case may take.

Tuned so a simulated year reads like the seeds' platforms: about 90 % of cases by the hotline, closure
about 96 %, on time about 90 %, satisfaction about 95 %, about 70 % of resolutions rated.
"""

from __future__ import annotations

from civicgrid.cases.models import Channel, Kind

CHANNELS: dict[str, float] = {
    Channel.HOTLINE: 90.0,
    Channel.QR: 3.0,
    Channel.GRID_APP: 3.0,  # grid workers' 随手拍: found, not reported (主动发现)
    Channel.PATROL: 0.8,
    Channel.WEB: 1.0,
    Channel.API: 1.7,  # the 一号通办 app and Open311 clients
    Channel.LEADER: 0.5,
}
PROACTIVE = frozenset({Channel.GRID_APP, Channel.PATROL})
# Staff enter these and classify them on the spot; hotline and resident reports are classified on accepting.
CLASSIFIED_AT_INTAKE = frozenset({Channel.GRID_APP, Channel.PATROL, Channel.API})
KINDS: dict[str, float] = {
    Kind.COMPLAINT: 45.0,
    Kind.HELP: 25.0,
    Kind.CONSULT: 12.0,
    Kind.SUGGESTION: 10.0,
    Kind.REPORT: 5.0,
    Kind.PRAISE: 3.0,
}
FOUND_KINDS: dict[str, float] = {Kind.COMPLAINT: 55.0, Kind.HELP: 45.0}
# Calls by hour of day (local time); the hotline answers around the clock, peaks mid-morning.
HOURS = (
    0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.5, 3.5, 6.5, 8.0, 8.2, 7.0,
    5.0, 5.5, 7.0, 7.2, 6.6, 5.5, 4.5, 4.2, 3.8, 3.0, 2.0, 1.2,
)  # fmt: skip
WORK_HOURS = tuple(h if 8 <= i < 18 else 0.0 for i, h in enumerate(HOURS))

# Intake.
REJECT = 0.02  # 不予受理
MERGE = 0.015  # a duplicate of a case still open
WITHDRAW_EARLY = 0.003  # withdrawn before anyone accepted it
WITHDRAW_LATER = 0.005  # withdrawn while a unit holds it
ON_THE_SPOT = 0.7  # of proactive cases a grid handles: 小事一格解决
ON_THE_SPOT_CLOSE_HOURS = (12.0, 72.0)
DEDICATED_PLACE = 0.08  # cases located in a dedicated grid (enterprise, market, school…)
IN_BUILDING = 0.7  # cases naming a building (QR codes always do)
ANONYMOUS = 0.05  # of QR and web reports
CONFIDENTIAL = 0.03

# Handling.
MISDIRECT = 0.03  # 退单: the first unit says "not ours"
ASSISTS = 0.1  # dispatched with an assisting unit (协办)
SUMMON = 0.12  # a street or community leading calls departments in (吹哨)
ESCALATE = 0.04  # a grid, community or street hands the case up by hand (提级)
NOTE = 0.1
SUPERVISE = 0.03
EXTENSION = 0.07  # of items with at least 3 working days
EXTENSION_APPROVED = 0.75
RESPOND_LATE = 0.05  # the unit reports in after its response deadline
ON_TIME = 0.905  # the lead resolves by its deadline
ON_TIME_AGAIN = 0.88  # after a reopen
LATE_DAYS_MEAN = 9.0  # how late the others are, on average (calendar days, exponential)

# After the resolution.
RATED = 0.73  # of resolutions of residents' cases (proactive ones are closed unrated)
RATED_BY_RESIDENT = 0.55  # the rest are rated on the operators' callback (回访)
SATISFACTION = {"satisfied": 86.0, "basically": 9.4, "dissatisfied": 4.6}
SATISFACTION_AGAIN = {"satisfied": 70.0, "basically": 25.0, "dissatisfied": 5.0}
SOLVED = {"satisfied": 0.98, "basically": 0.85, "dissatisfied": 0.2}
REOPEN_AFTER_REVIEW = 0.65  # a dissatisfied rating reviewed: reopened, or closed as answered
REVIEW_CLOSE_NOTE = "经审核，已按政策规定答复到位，予以销号"
APPROVE_NOTE = "同意延期"
