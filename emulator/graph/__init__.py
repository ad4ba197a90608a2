"""Microsoft Graph v1.0: users and their delta query, groups, directory roles, service principals and app
role assignments, calendars and events, $batch.

Importing this package registers every Graph route on the shared router.
"""

from emulator.graph import applications, batch, calendar, delta, directory, groups, photos, schedule, users

__all__ = ["applications", "batch", "calendar", "delta", "directory", "groups", "photos", "schedule", "users"]
