"""Journeys as data: definitions, their validation, versions and (later) their execution."""
