"""The dataset catalog: publishing, versions, listings and their search."""
