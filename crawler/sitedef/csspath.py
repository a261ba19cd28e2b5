"""CSS selectors to XPath: parsel's translation, with a cheaper way to find elements by class or id.

cssselect turns `.price` into `*[@class and contains(@class, 'price') and contains(concat(' ',
normalize-space(@class), ' '), ' price ')]` and `#nav` into `*[@id = 'nav']`: libxml2 evaluates
that predicate on every element the step visits, and most of its cost is setting up the
predicate, not the test.  Site selectors start with a class or an id more often than not
(`.tabularDetails span.price`, `#primary_nav_wrap a`), so each one walks the whole page that
way: on the testbed's class-heavy market half of extraction time.

Here such a step is written `*/@class[contains(., 'price')]/parent::*[...the same predicate]`
(`*/@id[. = 'nav']/parent::*[...]` for an id): the attribute axis reaches the class (id)
attributes without a predicate per element, the cheap test drops those without the word, and
the full predicate (unchanged) decides on the few left.  The same elements come out in the
same (document) order, because the full predicate still holds for every element kept and
implies the attribute test.  Only where the predicate depends on an element's position among
the step's results (`position()`, `last()`, as a `+` combinator or `:scope` write it), or is
joined with `or`, is the step left as cssselect wrote it: after `parent::*` a position means
something else.

`tests/crawler/test_fast_selectors.py` compares every site selector translated here with
parsel's own translation on testbed and real market pages, and a table of combinators;
`tests/crawler/test_csspath.py` checks where the rewrite applies and where it must not.

>>> ATTRIBUTE_LED.css_to_xpath(".a span.b::text")  # doctest: +NORMALIZE_WHITESPACE
"descendant-or-self::*/@class[contains(., 'a')]/parent::*[@class and contains(@class, 'a') and
 contains(concat(' ', normalize-space(@class), ' '), ' a ')]/descendant::span/@class[contains(.,
 'b')]/parent::*[@class and contains(@class, 'b') and contains(concat(' ', normalize-space(@class),
 ' '), ' b ')]/text()"
>>> ATTRIBUTE_LED.css_to_xpath("#nav a::attr(href)")
"descendant-or-self::*/@id[. = 'nav']/parent::*[@id = 'nav']/descendant::a/@href"
"""
from __future__ import annotations

from typing import Any

from cssselect.parser import Class, FunctionalPseudoElement, Hash
from cssselect.xpath import XPathExpr as CssselectXPathExpr
from parsel.csstranslator import HTMLTranslator
from parsel.csstranslator import XPathExpr as ParselXPathExpr

# conditions that read the context position: after `/@class/parent::*` it would be 1
_POSITIONAL = ("position()", "last()")


class AttributeStepXPathExpr(ParselXPathExpr):
    """parsel's expression, remembering whether this step's predicate starts with a class or id
    test (`attribute_step`: `@class[contains(., 'x')]` or `@id[. = 'x']`) so the step can reach
    the element by that attribute."""

    attribute_step: str | None = None

    @classmethod
    def of(cls, xpath: CssselectXPathExpr, attribute_step: str | None = None) -> AttributeStepXPathExpr:
        made = cls(path=xpath.path, element=xpath.element, condition=xpath.condition)
        made.textnode = getattr(xpath, "textnode", False)
        made.attribute = getattr(xpath, "attribute", None)
        made.attribute_step = attribute_step if attribute_step is not None else getattr(xpath, "attribute_step", None)
        return made

    def add_condition(self, condition: str, conjuction: str = "and") -> Any:
        if conjuction != "and" or any(name in condition for name in _POSITIONAL):
            self.attribute_step = None
        return super().add_condition(condition, conjuction)

    def join(self, combiner: str, other: CssselectXPathExpr, *args: Any, **kwargs: Any) -> Any:
        super().join(combiner, other, *args, **kwargs)  # the path so far, as __str__ writes it
        self.attribute_step = getattr(other, "attribute_step", None)
        return self

    def __str__(self) -> str:
        if not self.attribute_step:  # (add_condition drops it with a positional or `or` condition)
            return super().__str__()
        element = self.element
        self.element = f"{element}/{self.attribute_step}/parent::*"
        try:
            return super().__str__()
        finally:
            self.element = element


class AttributeLedTranslator(HTMLTranslator):
    """parsel's HTML translator (with ::text and ::attr()), writing class and id steps as above."""

    def xpath_element(self, selector: Any) -> AttributeStepXPathExpr:
        return AttributeStepXPathExpr.of(super().xpath_element(selector))

    def xpath_class(self, class_selector: Class) -> CssselectXPathExpr:
        xpath = self.xpath(class_selector.selector)
        first = not xpath.condition
        xpath = self.xpath_attrib_includes(xpath, "@class", class_selector.class_name)
        if first and xpath.condition != "0" and isinstance(xpath, AttributeStepXPathExpr):
            xpath.attribute_step = f"@class[contains(., {self.xpath_literal(class_selector.class_name)})]"
        return xpath

    def xpath_hash(self, id_selector: Hash) -> CssselectXPathExpr:
        xpath = self.xpath(id_selector.selector)
        first = not xpath.condition
        xpath = self.xpath_attrib_equals(xpath, "@id", id_selector.id)
        if first and isinstance(xpath, AttributeStepXPathExpr):
            xpath.attribute_step = f"@id[. = {self.xpath_literal(id_selector.id)}]"
        return xpath

    def xpath_attr_functional_pseudo_element(self, xpath: CssselectXPathExpr,
                                             function: FunctionalPseudoElement) -> AttributeStepXPathExpr:
        return AttributeStepXPathExpr.of(super().xpath_attr_functional_pseudo_element(xpath, function),
                                         getattr(xpath, "attribute_step", None))

    def xpath_text_simple_pseudo_element(self, xpath: CssselectXPathExpr) -> AttributeStepXPathExpr:
        return AttributeStepXPathExpr.of(super().xpath_text_simple_pseudo_element(xpath),
                                         getattr(xpath, "attribute_step", None))


ATTRIBUTE_LED = AttributeLedTranslator()
