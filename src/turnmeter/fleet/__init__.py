"""Many replicas, one account: the Redis lease and the budget guard's shared number.

:class:`Lease` (one holder per name, expiring when the holder stops renewing) is reusable by any
poll loop; :class:`Fleet` configures :class:`~turnmeter.budget.BudgetGuard` to poll once for the
whole fleet (:mod:`turnmeter.fleet.shared`). Importing this package does not import redis-py;
building a lease or a link does, with a clear error when it is missing.
"""

from turnmeter.fleet.config import DEFAULT_FLEET_NAME, Fleet, RedisDown
from turnmeter.fleet.lease import Lease

__all__ = ["DEFAULT_FLEET_NAME", "Fleet", "Lease", "RedisDown"]
