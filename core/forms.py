"""Form behaviour shared by every Haven form: errors that screen readers announce."""


class AccessibleErrorsMixin:
    """Mark invalid inputs with aria-invalid and point them at their help text and error messages
    (ids rendered by templates/includes/form_fields.html). Errors added later by a view (from a
    service's validation) are marked too."""

    def full_clean(self):
        super().full_clean()
        self._mark_errors()

    def add_error(self, field, error):
        super().add_error(field, error)
        if hasattr(self, "cleaned_data"):
            self._mark_errors()

    def _mark_errors(self):
        for name, field in self.fields.items():
            bound = self[name]
            described = [f"{bound.id_for_label}_help"] if field.help_text else []
            if name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                described.append(f"{bound.id_for_label}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)
