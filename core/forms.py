"""Form behaviour shared by every Haven form: errors that screen readers announce."""


class AccessibleErrorsMixin:
    """After validation, mark invalid inputs with aria-invalid and point them at their help text
    and error messages (ids rendered by templates/includes/form_fields.html)."""

    def full_clean(self):
        super().full_clean()
        for name, field in self.fields.items():
            bound = self[name]
            described = []
            if field.help_text:
                described.append(f"{bound.id_for_label}_help")
            if name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                described.append(f"{bound.id_for_label}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)
