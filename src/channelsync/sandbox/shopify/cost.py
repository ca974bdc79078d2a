"""Query cost as Shopify documents it, computed on the parsed document.

* scalars and enums cost 0; an object costs 1, plus its selections;
* a connection costs 2 + ``first`` (or ``last``) x the cost of one node;
* a list field costs its ``first`` (or the number of ``names``) x one item;
* a mutation costs 10.

Small value objects (money, addresses, page info, tracking info, quantities, user errors)
cost 0 here: Shopify's real requested costs for such selections are far below the naive
rule, and charging them would make a page of orders with line items impossible.

``requested`` is computed before running (the worst case the arguments allow);
``actual`` walks the result, counting the nodes really returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values

#: Types with fields a selection can pick (interfaces cost as their objects do).
_Composite = GraphQLObjectType | GraphQLInterfaceType
_COMPOSITE = (GraphQLObjectType, GraphQLInterfaceType)

__all__ = ["MUTATION_COST", "QueryCost"]

MUTATION_COST = 10
ZERO_COST = frozenset(
    {
        "MoneyBag",
        "MoneyV2",
        "MailingAddress",
        "PageInfo",
        "FulfillmentTrackingInfo",
        "InventoryQuantity",
        "UserError",
        "InventorySetQuantitiesUserError",
        "ProductVariantsBulkUpdateUserError",
        "OrderCancelUserError",
    }
)


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class QueryCost:
    """The cost of one operation of a document, with its variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Any,
    ) -> None:
        self.schema = schema
        self.operation = operation
        # What ``get_variable_values`` returned (a dict in graphql-core 3.2, ``VariableValues``
        # in 3.3): handed back to ``get_argument_values`` as is.
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.is_mutation = operation.operation.value == "mutation"

    def _fields(
        self, parent: _Composite, selection_set: SelectionSetNode | None
    ) -> list[tuple[_Composite, FieldNode]]:
        out: list[tuple[_Composite, FieldNode]] = []
        if selection_set is None:
            return out
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.append((parent, sel))
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = self.schema.get_type(cond.name.value) if cond is not None else parent
                if isinstance(target, _COMPOSITE):
                    out.extend(self._fields(target, sel.selection_set))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is not None:
                    target = self.schema.get_type(frag.type_condition.name.value)
                    if isinstance(target, _COMPOSITE):
                        out.extend(self._fields(target, frag.selection_set))
        return out

    def _args(self, parent: _Composite, node: FieldNode) -> dict[str, Any]:
        field = parent.fields.get(node.name.value)
        if field is None:
            return {}
        values: dict[str, Any] = get_argument_values(field, node, self.variables)
        return values

    # -- requested -------------------------------------------------------------------------

    def requested(self) -> int:
        """The worst-case cost the arguments allow."""
        root = self.schema.mutation_type if self.is_mutation else self.schema.query_type
        assert root is not None
        fields = self._fields(root, self.operation.selection_set)
        if self.is_mutation:
            return MUTATION_COST * len(fields)
        return sum(self._requested(p, f) for p, f in fields)

    def _requested(self, parent: _Composite, node: FieldNode) -> int:
        if node.name.value.startswith("__"):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:
            return 0
        named = get_named_type(field.type)
        if not isinstance(named, _COMPOSITE):
            return 0
        args = self._args(parent, node)
        base = 0 if named.name in ZERO_COST else 1
        if named.name.endswith("Connection"):
            size = int(args.get("first") or args.get("last") or 0)
            return 2 + size * self._per_node(named, node.selection_set)
        children = sum(self._requested(p, f) for p, f in self._fields(named, node.selection_set))
        if _is_list(field.type):
            first = args.get("first")
            if first is not None:
                size = int(first)
            else:
                size = len(args["names"]) if isinstance(args.get("names"), list) else 1
            return size * (base + children)
        return base + children

    def _per_node(self, connection: _Composite, selection_set: SelectionSetNode | None) -> int:
        best = 0
        for parent, f in self._fields(connection, selection_set):
            if f.name.value == "nodes":
                node_type = get_named_type(parent.fields["nodes"].type)
                assert isinstance(node_type, _COMPOSITE)
                cost = 1 + sum(
                    self._requested(p, g) for p, g in self._fields(node_type, f.selection_set)
                )
                best = max(best, cost)
            elif f.name.value == "edges":
                edge = get_named_type(parent.fields["edges"].type)
                assert isinstance(edge, _COMPOSITE)
                for ep, g in self._fields(edge, f.selection_set):
                    if g.name.value == "node":
                        node_type = get_named_type(ep.fields["node"].type)
                        assert isinstance(node_type, _COMPOSITE)
                        cost = 1 + sum(
                            self._requested(p, h)
                            for p, h in self._fields(node_type, g.selection_set)
                        )
                        best = max(best, cost)
        return best

    # -- actual ----------------------------------------------------------------------------

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """The cost of what was really returned (mutations: the same as requested)."""
        if self.is_mutation:
            return self.requested()
        if data is None:
            return 0
        root = self.schema.query_type
        assert root is not None
        return sum(
            self._actual(p, f, data) for p, f in self._fields(root, self.operation.selection_set)
        )

    def _actual(self, parent: _Composite, node: FieldNode, data: Mapping[str, Any]) -> int:
        key = node.alias.value if node.alias else node.name.value
        value = data.get(key)
        field = parent.fields.get(node.name.value)
        if value is None or field is None:
            return 0
        named = get_named_type(field.type)
        if not isinstance(named, _COMPOSITE):
            return 0
        base = 0 if named.name in ZERO_COST else 1
        if named.name.endswith("Connection"):
            return 2 + self._actual_nodes(named, node.selection_set, value)
        items = value if isinstance(value, list) else [value]
        total = 0
        for item in items:
            if isinstance(item, Mapping):
                total += base + sum(
                    self._actual(p, f, item) for p, f in self._fields(named, node.selection_set)
                )
        return total

    def _actual_nodes(
        self, connection: _Composite, selection_set: SelectionSetNode | None, value: Any
    ) -> int:
        best = 0
        for parent, f in self._fields(connection, selection_set):
            key = f.alias.value if f.alias else f.name.value
            items = value.get(key) if isinstance(value, Mapping) else None
            if not isinstance(items, list):
                continue
            total = 0
            if f.name.value == "nodes":
                node_type = get_named_type(parent.fields["nodes"].type)
                assert isinstance(node_type, _COMPOSITE)
                for item in items:
                    total += 1 + sum(
                        self._actual(p, g, item)
                        for p, g in self._fields(node_type, f.selection_set)
                    )
            elif f.name.value == "edges":
                edge = get_named_type(parent.fields["edges"].type)
                assert isinstance(edge, _COMPOSITE)
                for item in items:
                    for ep, g in self._fields(edge, f.selection_set):
                        node_key = g.alias.value if g.alias else g.name.value
                        if g.name.value == "node" and isinstance(item.get(node_key), Mapping):
                            node_type = get_named_type(ep.fields["node"].type)
                            assert isinstance(node_type, _COMPOSITE)
                            total += 1 + sum(
                                self._actual(p, h, item[node_key])
                                for p, h in self._fields(node_type, g.selection_set)
                            )
            best = max(best, total)
        return best
