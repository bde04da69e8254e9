"""The people picker's markup: a labelled combobox, its listbox and live region, and chips."""

from __future__ import annotations

from django.template.loader import render_to_string

from directory.models import Person
from tests.ui.markup import elements, find_all
from tests.ui.pages import ADELE, render_page

ADA = Person(graph_id="ada-0001", display_name="Ada Lovelace")
GRACE = Person(graph_id="grace-0002", display_name="Grace Hopper")


def picker(**context: object) -> str:
    return render_to_string("directory/_people_picker.html", context)


def assert_no_inline_script_or_style(html: str) -> None:
    for element in elements(html):
        assert element.tag not in ("script", "style"), element.tag
        assert "style" not in element.attrs, element.tag
        assert not [name for name in element.attrs if name.startswith("on")], element.tag


def test_the_text_box_is_a_labelled_combobox_controlling_a_listbox() -> None:
    html = picker(picker_id="attendees", label="Attendees", mode="multi", field_name="people")

    (box,) = find_all(html, "input", role="combobox")
    assert box.attrs["id"] == "attendees-input"
    assert box.attrs["aria-expanded"] == "false"
    assert box.attrs["aria-autocomplete"] == "list"
    assert box.attrs["autocomplete"] == "off"
    (label,) = find_all(html, "label")
    assert (label.attrs["for"], label.text) == ("attendees-input", "Attendees")
    (listbox,) = find_all(html, "ul", role="listbox")
    assert listbox.attrs["id"] == box.attrs["aria-controls"] == "attendees-listbox"
    (status,) = find_all(html, "p", role="status")
    assert status.attrs["aria-live"] == "polite"
    (root,) = [e for e in elements(html) if "data-people-picker" in e.attrs]
    assert root.attrs["data-search-url"] == "/directory/people/search"
    assert_no_inline_script_or_style(html)


def test_multi_select_keeps_chosen_ids_in_the_named_hidden_field_and_shows_chips() -> None:
    html = picker(
        picker_id="presenters",
        label="Presenters",
        mode="multi",
        field_name="presenters",
        chosen=[ADA, GRACE],
    )

    (hidden,) = find_all(html, "input", type="hidden")
    assert (hidden.attrs["name"], hidden.attrs["value"]) == ("presenters", "ada-0001,grace-0002")
    # Only the hidden field is sent: the text box has no name.
    (box,) = find_all(html, "input", role="combobox")
    assert "name" not in box.attrs
    removes = [button.attrs["aria-label"] for button in find_all(html, "button")]
    assert removes == ["Remove Ada Lovelace", "Remove Grace Hopper"]
    assert all(button.attrs["type"] == "button" for button in find_all(html, "button"))
    photos = [image.attrs["src"] for image in find_all(html, "img")]
    assert photos == ["/directory/people/ada-0001/photo", "/directory/people/grace-0002/photo"]


def test_an_empty_multi_select_hides_its_list_of_chips() -> None:
    html = picker(picker_id="p", label="Attendees", mode="multi", field_name="people")
    (chips,) = find_all(html, "ul", class_="people-picker-chips")
    assert "hidden" in chips.attrs
    (hidden,) = find_all(html, "input", type="hidden")
    assert hidden.attrs["value"] == ""


def test_the_header_offers_find_a_person_to_signed_in_people_only() -> None:
    html = render_page("home.html", portal_user=ADELE)
    (search,) = find_all(html, "form", role="search")
    assert search.attrs["aria-label"] == "Find a person"
    # Without the script, the text is a search of the people wall.
    assert (search.attrs["action"], search.attrs["method"]) == ("/people/", "get")
    (box,) = find_all(html, "input", role="combobox")
    assert box.attrs["name"] == "q"
    (label,) = find_all(html, "label", for_="find-person-input")
    assert label.text == "Find a person"
    (root,) = [e for e in elements(html) if "data-people-picker" in e.attrs]
    assert root.attrs["data-mode"] == "jump"
    assert root.attrs["data-jump-url"] == "/people/PERSON_ID/"
    assert_no_inline_script_or_style(search_markup(html))

    assert find_all(render_page("home.html", portal_user=None), "input", role="combobox") == []


def search_markup(html: str) -> str:
    start = html.index('<form class="header-search"')
    return html[start : html.index("</form>", start)]
