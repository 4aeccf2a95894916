"""How much memory the process may still allocate: read before every large allocation,
so that a request that would not fit is refused with the figure instead of dying."""

import os

# (limit, usage) files of cgroup v2, then v1
CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)


def _cgroup_room():
    """Bytes the process's cgroup (v2, else v1) still lets it allocate, or None without a limit."""
    for limit_file, usage_file in CGROUP_FILES:
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= 1 << 60:  # v1 says "no limit" with a huge number
            return None
        return max(int(limit) - usage, 0)
    return None


def available_memory():
    """Bytes of memory available now (the host's, capped by a cgroup limit such as a
    container's or a Dask pod's), or None where that cannot be told."""
    host = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    host = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if host is None:
        try:
            host = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            host = None
    room = _cgroup_room()
    if host is None or room is None:
        return host if room is None else room
    return min(host, room)
