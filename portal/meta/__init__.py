"""Everything that speaks Meta: the Graph client, the OAuth client, signatures, payload parsing."""
