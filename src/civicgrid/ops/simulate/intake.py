"""New simulated cases: when, through which channel, about what, where and from whom."""

from __future__ import annotations

import bisect
import itertools
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from civicgrid.cases.models import TRACKING_ALPHABET, Channel, Kind
from civicgrid.ops import demo_names as names
from civicgrid.ops.simulate import mix
from civicgrid.ops.simulate.story import Env, Story
from civicgrid.ops.simulate.world import Place, Spot, Topic, topic_weights

MASK50 = (1 << 50) - 1
NAMES = 5000  # distinct reporter names to draw from
FREQUENT_SHARE = 0.1  # cases from a small pool of frequent callers (重复诉求)


@dataclass
class Recent:
    """A case a later duplicate may be merged into while it is still open."""

    id: int
    number: str
    description: str
    created: int
    open_until: int | None


@dataclass
class Reporter:
    name: str = ""
    phone: str = ""
    anonymous: bool = False
    confidential: bool = False


@dataclass
class Draft:
    """What the case row needs beyond the story: its words and its reporter."""

    story: Story
    title: str
    description: str
    building: Spot | None
    reporter: Reporter
    tracking_code: str


@dataclass
class Intake:
    """Draws new cases for a run; one per call of `draft`."""

    env: Env
    expected: int
    recent: deque[Recent] = field(default_factory=lambda: deque(maxlen=400))

    def __post_init__(self) -> None:
        rng, world = self.env.rng, self.env.world
        self.channels, self.channel_cum = _cumulative(mix.CHANNELS)
        self.kinds, self.kind_cum = _cumulative(mix.KINDS)
        self.found, self.found_cum = _cumulative(mix.FOUND_KINDS)
        weights = topic_weights(world, rng)
        self.topic_cum = list(itertools.accumulate(weights))
        local = [
            w if t.handler_level in ("grid", "community") else 0.0
            for t, w in zip(world.topics, weights, strict=True)
        ]
        self.local_cum = list(itertools.accumulate(local)) if sum(local) > 0 else self.topic_cum
        self.grid_cum = list(itertools.accumulate(rng.lognormvariate(0, 0.5) for _ in world.grids))
        self.names = [names.person_name(rng) for _ in range(NAMES)]
        self.callers = max(1000, int(self.expected * 0.8))
        self.salt = rng.randrange(1, 10**8)
        self.key = (rng.getrandbits(50) | 1, rng.getrandbits(50))
        self.templates: dict[tuple[str, str, str], str] = {}

    def draft(self, *, case_id: int, number: str, created: int, channel: str) -> Draft:
        env, world, rng = self.env, self.env.world, self.env.rng
        proactive = channel in mix.PROACTIVE
        kind = _pick(rng, self.found, self.found_cum) if proactive else _pick(rng, self.kinds, self.kind_cum)
        grid, topic = self._place_and_topic(kind, proactive)
        spots = world.buildings.get(grid.id, [])
        building = (
            rng.choice(spots) if spots and (channel == Channel.QR or rng.random() < mix.IN_BUILDING) else None
        )
        creator = self._creator(channel, grid)
        story = Story(env, case_id, number, created, channel, kind, proactive, topic, grid, creator)
        staff = creator is not None and creator != world.integrator
        story.first_receiver = creator if staff else None
        description = self._describe(topic, kind, channel, building.name if building else grid.name)
        return Draft(
            story,
            topic.name,
            description,
            building,
            self._reporter(channel, kind, proactive, creator),
            self._code(case_id),
        )

    def channel(self) -> str:
        return _pick(self.env.rng, self.channels, self.channel_cum)

    def _place_and_topic(self, kind: str, proactive: bool) -> tuple[Place, Topic]:
        rng, world = self.env.rng, self.env.world
        if world.dedicated and rng.random() < mix.DEDICATED_PLACE:
            grid = rng.choice(world.dedicated)
            topics = world.dedicated_topics(grid)
            if topics:
                return grid, rng.choice(topics)
        grid = world.grids[draw(rng, self.grid_cum)]
        reports = world.report_topics()
        if kind == Kind.REPORT and reports:
            return grid, rng.choice(reports)
        # Grid workers mostly find the small things a grid or community handles itself.
        cum = self.local_cum if proactive and rng.random() < 0.7 else self.topic_cum
        return grid, world.topics[draw(rng, cum)]

    def _creator(self, channel: str, grid: Place) -> int | None:
        world = self.env.world
        if channel in (Channel.HOTLINE, Channel.LEADER):
            return world.centre
        if channel == Channel.API:
            return world.integrator
        return world.acting.get(grid.id) if channel in mix.PROACTIVE else None

    def _reporter(self, channel: str, kind: str, proactive: bool, creator: int | None) -> Reporter:
        rng = self.env.rng
        if proactive:
            return Reporter(*self.env.world.people.get(creator, ("", ""))) if creator else Reporter()
        if channel in (Channel.QR, Channel.WEB) and rng.random() < mix.ANONYMOUS:
            return Reporter(anonymous=True, confidential=True)
        frequent = rng.random() < FREQUENT_SHARE
        caller = rng.randrange(self.callers // 50 if frequent else self.callers)
        phone = (
            names.PHONE_PREFIXES[caller % len(names.PHONE_PREFIXES)]
            + f"{(caller * 7919 + self.salt) % 10**8:08d}"
        )
        confidential = kind == Kind.REPORT or rng.random() < mix.CONFIDENTIAL
        return Reporter(self.names[caller % NAMES], phone, False, confidential)

    def _describe(self, topic: Topic, kind: str, channel: str, where: str) -> str:
        key = (topic.code, kind, channel)
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = _template(topic, kind, channel)
        return template.replace("{where}", where)

    def _code(self, case_id: int) -> str:
        """A tracking code unique per case id (an affine bijection on 50 bits), random-looking enough."""
        value = (case_id * self.key[0] + self.key[1]) & MASK50
        return "".join(TRACKING_ALPHABET[(value >> shift) & 31] for shift in range(0, 50, 5))

    def remember(self, recent: Recent) -> None:
        self.recent.append(recent)

    def merge_target(self, created: int) -> Recent | None:
        """An earlier case still open a few hours after `created`: a duplicate may be merged into it."""
        if not self.recent:
            return None
        for _ in range(4):
            candidate = self.recent[self.env.rng.randrange(len(self.recent))]
            open_long = candidate.open_until is None or candidate.open_until > created + 4 * 3600
            if candidate.created < created - 600 and open_long:
                return candidate
        return None


def _template(topic: Topic, kind: str, channel: str) -> str:
    said = names.ITEM_TEXTS.get(topic.code, "{where}" + topic.name)
    if channel in mix.PROACTIVE:
        return f"{'巡查' if channel == Channel.PATROL else '走访'}发现：{said}"
    texts: dict[str, str] = {
        Kind.CONSULT: f"咨询：{{where}}{topic.name}的问题应该找哪个部门，需要怎么办理？",
        Kind.SUGGESTION: f"建议：{said}，希望相关部门加强日常管理",
        Kind.PRAISE: f"表扬：此前反映{{where}}{topic.name}的问题已经解决，感谢工作人员认真负责",
        Kind.REPORT: f"举报：{said}，希望有关部门依法查处，请为我保密",
        Kind.HELP: f"{said}，请帮忙解决",
    }
    return texts.get(kind, f"{said}，请尽快处理")


def _cumulative(weights: Mapping[str, float]) -> tuple[list[str], list[float]]:
    return [str(k) for k in weights], list(itertools.accumulate(weights.values()))


def _pick(rng: random.Random, values: list[str], cum: list[float]) -> str:
    return values[draw(rng, cum)]


def draw(rng: random.Random, cum: list[float]) -> int:
    """An index drawn with the weights whose running sums are `cum`."""
    return min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)
