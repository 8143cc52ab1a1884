from django.forms.renderers import TemplatesSetting


class SiteFormRenderer(TemplatesSetting):
    """Every form renders its fields the same way: label, required mark, help
    text, errors tied to the input with aria-describedby."""

    form_template_name = "core/forms/form.html"
    field_template_name = "core/forms/field.html"
