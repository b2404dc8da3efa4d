"""Phone numbers keep their left-to-right order in right-to-left (Arabic) text."""

from django.template import Context, Template

from core.phones import LRI, PDI, ltr_numbers


def render(source, **context):
    return Template("{% load haven %}" + source).render(Context(context))


def test_a_shown_number_is_isolated_left_to_right():
    assert render("{{ n|phone }}", n="+12025550111") == '<bdi class="phone" dir="ltr">+12025550111</bdi>'
    assert render('{{ n|phone|default:"—" }}', n="") == "—"


def test_a_tel_link_dials_digits_only_and_escapes_what_it_shows():
    assert render("{{ n|phone_link }}", n="+1 (202) 555-0111") == \
        '<a class="phone" dir="ltr" href="tel:+12025550111">+1 (202) 555-0111</a>'
    assert "<script>" not in render("{{ n|phone_link }}", n="+1<script>")


def test_numbers_in_a_sentence_are_wrapped_in_unicode_isolates_once():
    text = ltr_numbers("بالصيغة الدولية، مثل +12025550123.")
    assert text == f"بالصيغة الدولية، مثل {LRI}+12025550123{PDI}."
    assert ltr_numbers(text) == text


def test_the_bad_phone_error_keeps_its_example_number_in_order():
    import pytest
    from django.core.exceptions import ValidationError

    from core.phones import normalize_phone

    with pytest.raises(ValidationError) as error:
        normalize_phone("not a number")
    assert f"{LRI}+12025550123{PDI}" in error.value.messages[0]
