"""Microsoft Graph v1.0: users, directory roles, calendars and events, $batch.

Importing this package registers every Graph route on the shared router.
"""

from emulator.graph import batch, calendar, directory, photos, schedule, users

__all__ = ["batch", "calendar", "directory", "photos", "schedule", "users"]
