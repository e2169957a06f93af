"""Hearth's Qt widgets and views: they draw and take input; the app tells them what to show."""
