"""Date formats per language (FORMAT_MODULE_PATH): day first everywhere, a month's name
rather than a number where a reader could misread it (never the US 11/30/2026), 24-hour
times. Month names come from the catalogues (Moroccan ones in Arabic: cohorts.dates)."""
