"""Microsoft Graph v1.0: users, directory roles, calendars and events, $batch."""
