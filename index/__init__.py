"""Storage, search, trends and export for trawl listings."""
