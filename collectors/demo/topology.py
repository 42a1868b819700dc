"""The simulated MCP Debug Host Platform: hosts, teams, users and MCP server containers.

Built deterministically from :class:`DemoSettings` (seed and sizes) with stable hashes, so the
same settings give the same fleet in every process and numpy version.

Ground truth for right-sizing and consolidation (seeded, never an incident target):

* ~25 % of servers are "over": they request ``OVER_FACTOR`` (4x) their kind's CPU and memory and
  use 5-15 % of the CPU and 8-20 % of the memory requested (``collectors.demo.fleet.USAGE``);
* ``UNDER_COUNT`` "under" servers use 1.4-1.8x their CPU and 1.2-1.4x their memory request,
  with limits of 1.25x and 1.15x: CPU-throttled and OOM-killed at busy hours;
* ``IDLE_COUNT`` of the "over" servers are idle: no tool calls and almost no CPU, memory held
  (their debug sessions are idle when they hold no other server);
* hosts are sized for requests, not usage, so the load of the fleet fits on fewer hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from collectors.demo.incidents import INCIDENTS, Incident
from collectors.demo.signals import stable_float, stable_int
from core.kernel.settings import DemoSettings

GIB = 1 << 30
TEAM_NAMES = tuple(
    [
        "payments",
        "search",
        "platform",
        "ml-infra",
        "checkout",
        "identity",
        "data-eng",
        "mobile",
        "growth",
        "security",
        "observability",
        "billing",
        "ads",
        "messaging",
        "maps",
        "devex",
    ]
)
FIRST_NAMES = tuple(
    [
        "amara",
        "bruno",
        "chen",
        "dana",
        "emeka",
        "fatima",
        "goran",
        "hana",
        "ivan",
        "jia",
        "kofi",
        "lena",
        "mateo",
        "nadia",
        "omar",
        "priya",
        "quinn",
        "rosa",
        "sven",
        "tomas",
        "uma",
        "vera",
        "wei",
        "ximena",
        "yusuf",
        "zoe",
        "aiko",
        "bilal",
        "carla",
        "dmitri",
        "elif",
        "farid",
    ]
)
# kind -> (cpu request cores, memory request GiB, tools with their typical p50 latency in seconds)
KIND_SPECS: dict[str, tuple[float, float, tuple[tuple[str, float], ...]]] = {
    "filesystem": (0.1, 0.25, (("read_file", 0.004), ("write_file", 0.008), ("search_files", 0.06))),
    "github": (0.25, 0.5, (("search_code", 0.35), ("get_issue", 0.18), ("create_pull_request", 0.9))),
    "postgres": (0.5, 1.0, (("query", 0.025), ("list_tables", 0.012), ("describe_table", 0.015))),
    "browser": (1.0, 2.0, (("navigate", 0.8), ("screenshot", 0.45), ("click", 0.12))),
    "slack": (0.1, 0.25, (("post_message", 0.15), ("search_messages", 0.25))),
    "jira": (0.25, 0.5, (("search_issues", 0.3), ("create_issue", 0.4))),
    "fetch": (0.1, 0.25, (("fetch", 0.22),)),
    "sentry": (0.25, 0.5, (("search_events", 0.28), ("get_issue_details", 0.16))),
}
HOST_SHAPES = ((16, 64, 512), (32, 128, 1024), (48, 192, 1024), (64, 256, 2048))  # cores, GiB, disk GiB
OVER_SHARE, UNDER_COUNT, IDLE_COUNT = 0.25, 2, 2
OVER_FACTOR = 4.0  # an "over" server requests this many times its kind's CPU and memory
UNDER_CPU_LIMIT, UNDER_MEMORY_LIMIT = 1.25, 1.15  # limits of "under" servers, as multiples of requests


@dataclass(frozen=True)
class Host:
    name: str
    cpu_cores: int
    memory_bytes: int
    disk_bytes: int


@dataclass(frozen=True)
class Server:
    """One MCP server container attached to a user's debug session."""

    name: str
    kind: str
    host: str
    team: str
    user: str
    session_id: str
    cpu_request: float
    cpu_limit: float
    memory_request: int
    memory_limit: int
    tools: tuple[str, ...]
    profile: str  # "normal", "over" (requests far above usage) or "under" (usage above requests)
    idle: bool = False  # holds its requests but serves no tool calls (always an "over" server)


@dataclass(frozen=True)
class Topology:
    seed: int
    hosts: tuple[Host, ...]
    teams: tuple[str, ...]
    users: dict[str, tuple[str, ...]]
    servers: tuple[Server, ...]

    @property
    def tools(self) -> list[tuple[int, str]]:
        """(server index, tool name) for every tool of every server, in server order."""
        return [(i, tool) for i, s in enumerate(self.servers) for tool in s.tools]

    def host_index(self, name: str) -> int:
        return next(i for i, h in enumerate(self.hosts) if h.name == name)

    def target_of(self, incident: Incident) -> tuple[int, int | None, int | None]:
        """(host index, server index or None, index in ``tools`` or None) an incident hits."""
        per_host = len(self.servers) // len(self.hosts)
        host = incident.host_slot % len(self.hosts)
        if incident.server_slot is None:
            return host, None, None
        server = host * per_host + incident.server_slot % per_host
        if incident.tool_slot is None:
            return host, server, None
        own = [j for j, (i, _) in enumerate(self.tools) if i == server]
        return host, server, own[incident.tool_slot % len(own)]


def _pick(seed: int, options: tuple[str, ...] | list[str], *parts: object) -> str:
    return options[stable_int(seed, *parts) % len(options)]


def _teams(settings: DemoSettings) -> tuple[str, ...]:
    names = [TEAM_NAMES[i % len(TEAM_NAMES)] for i in range(settings.teams)]
    return tuple(n if i < len(TEAM_NAMES) else f"{n}-{i // len(TEAM_NAMES) + 1}" for i, n in enumerate(names))


def _users(seed: int, teams: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    pool = sorted(FIRST_NAMES, key=lambda n: stable_int(seed, "user", n))
    users, k = {}, 0
    for team in teams:
        count = 3 + stable_int(seed, "team-size", team) % 7
        names = []
        for _ in range(count):
            round_no, first = divmod(k, len(pool))
            names.append(f"{pool[first]}.{team[0]}{round_no or ''}")
            k += 1
        users[team] = tuple(names)
    return users


def _hosts(settings: DemoSettings) -> tuple[Host, ...]:
    hosts = []
    for i in range(settings.hosts):
        name = f"host-{i + 1:02d}"
        cores, mem, disk = HOST_SHAPES[stable_int(settings.seed, "shape", name) % len(HOST_SHAPES)]
        hosts.append(Host(name, cores, mem * GIB, disk * GIB))
    return tuple(hosts)


def _profiles(seed: int, n: int, protected: set[int]) -> list[str]:
    """~25 % over-provisioned and a couple under-provisioned servers, never an incident target."""
    order = sorted((i for i in range(n) if i not in protected), key=lambda i: stable_int(seed, "prof", i))
    over = round(OVER_SHARE * n)
    profiles = ["normal"] * n
    for rank, i in enumerate(order):
        if rank < over:
            profiles[i] = "over"
        elif rank < over + UNDER_COUNT:
            profiles[i] = "under"
    return profiles


def _limits(profile: str, cpu_request: float, mem_request: int, cpu_factor: float) -> tuple[float, int]:
    """CPU and memory limits: roomy (2-4x CPU, 2x memory) except on "under" servers.

    Ground truth of right-sizing: an "under" server's CPU limit is 1.25x its request and its
    memory limit 1.15x, below what it uses at busy hours, so it is CPU-throttled
    (``container_cpu_cfs_throttled_periods_total``) and OOM-killed (``container_oom_events_total``,
    ``container_restarts_total``) on weekdays; see ``collectors.demo.pressure``.
    """
    if profile == "under":
        return cpu_request * UNDER_CPU_LIMIT, int(mem_request * UNDER_MEMORY_LIMIT)
    return cpu_request * cpu_factor, 2 * mem_request


def _idle(seed: int, profiles: list[str]) -> set[int]:
    """IDLE_COUNT of the "over" servers serve no calls at all: idle servers holding resources."""
    over = sorted(
        (i for i, p in enumerate(profiles) if p == "over"), key=lambda i: stable_int(seed, "idle", i)
    )
    return set(over[:IDLE_COUNT])


def _server(
    seed: int,
    index: int,
    host: Host,
    teams: tuple[str, ...],
    users: dict[str, tuple[str, ...]],
    profile: str,
    taken: set[str],
) -> Server:
    kind = _pick(seed, list(KIND_SPECS), "kind", index)
    team = _pick(seed, teams, "team", index)
    user = _pick(seed, users[team], "user", index)
    salt = 0
    while (name := f"{kind}-{stable_int(seed, 'name', index, salt) % 0x10000:04x}") in taken:
        salt += 1
    taken.add(name)
    cpu, mem_gib, tools = KIND_SPECS[kind]
    scale = OVER_FACTOR if profile == "over" else 1.0
    cpu_request, mem_request = cpu * scale, int(mem_gib * scale * GIB)
    n_tools = min(len(tools), 1 + stable_int(seed, "ntools", index) % 2)
    first = stable_int(seed, "tool0", index) % len(tools)
    chosen = tuple(tools[(first + k) % len(tools)][0] for k in range(n_tools))
    cpu_factor = 2.0 + 2.0 * (stable_float(seed, "cpulim", index) < 0.5)
    cpu_limit, memory_limit = _limits(profile, cpu_request, mem_request, cpu_factor)
    return Server(
        name=name,
        kind=kind,
        host=host.name,
        team=team,
        user=user,
        session_id=f"sess-{stable_int(seed, 'session', host.name, user) % 16**8:08x}",
        cpu_request=cpu_request,
        cpu_limit=cpu_limit,
        memory_request=mem_request,
        memory_limit=memory_limit,
        tools=chosen,
        profile=profile,
    )


def build_topology(settings: DemoSettings) -> Topology:
    """The whole fleet for these settings; a pure function of them."""
    seed, per_host = settings.seed, settings.servers_per_host
    hosts, teams = _hosts(settings), _teams(settings)
    users = _users(seed, teams)
    n = len(hosts) * per_host
    protected = {
        (inc.host_slot % len(hosts)) * per_host + inc.server_slot % per_host
        for inc in INCIDENTS
        if inc.server_slot is not None
    }
    profiles = _profiles(seed, n, protected)
    taken: set[str] = set()
    servers = tuple(
        _server(seed, i, hosts[i // per_host], teams, users, profiles[i], taken) for i in range(n)
    )
    idle = _idle(seed, profiles)
    servers = tuple(replace(s, idle=True) if i in idle else s for i, s in enumerate(servers))
    return Topology(seed=seed, hosts=hosts, teams=teams, users=users, servers=servers)
