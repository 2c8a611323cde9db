"""The segments app's forms: the audience search and the CSV import in ``audience``; the
segment builder, posted fields ↔ rule JSON, in ``builder`` (reading them) and
``builder_display`` (drawing them)."""
