"""IOC lists as analysts already have them (Neo23x0/signature-base, Loki): hashes, file names, C2 servers.

``IocSet.load(paths)`` reads the lists (``lists``); ``match_file`` checks a file's path and digests,
``match_event`` an event's remote address, DNS name and HTTP/TLS host (``network``); each ``IocHit``
becomes an ``Alert`` like a Sigma rule's (``model``).
"""

from seccenter.detect.ioc.iocset import IocSet, list_kind
from seccenter.detect.ioc.lists import ListProblem, ListReport
from seccenter.detect.ioc.model import Indicator, IocHit

__all__ = ["Indicator", "IocHit", "IocSet", "ListProblem", "ListReport", "list_kind"]
