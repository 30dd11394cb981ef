"""The import graph of app/ as grimp sees it (pip: import-linter brings grimp):

    .venv/bin/python bench/import_graph.py            # two-way package pairs, cycles
    .venv/bin/python bench/import_graph.py app.payments app.orders   # who they import

Prints the pairs of app.* top-level packages that import each other (both ways, any
module), the module-level import cycles (strongly connected components) and, for each
package named, the packages it imports and the shortest chain to orders and maklon.
Not a test: issue 23's before/after numbers, and a quick look when an arrow appears.
"""

from __future__ import annotations

import sys

import grimp


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(
                        graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main(names: list[str]) -> None:
    # As .importlinter sees it: imports under `if TYPE_CHECKING:` are no arrows at run time.
    graph = grimp.build_graph("app", include_external_packages=False,
                              exclude_type_checking_imports=True)
    packages = sorted({f"app.{m.split('.')[1]}" for m in graph.modules if "." in m})
    edges = {(a, b) for a in packages for b in packages if a != b
             and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}
    pairs = sorted({tuple(sorted(edge)) for edge in edges if edge[::-1] in edges})
    print(f"two-way package pairs: {len(pairs)}")
    for a, b in pairs:
        print(f"  {a} <-> {b}")
    components = cycles(graph)
    print(f"module-level cycles: {len(components)} "
          f"({sum(map(len, components))} modules)")
    for component in components:
        print(f"  {len(component)}: {', '.join(component)}")
    for name in names:
        print(f"{name} imports: {', '.join(sorted(b for a, b in edges if a == name))}")
        for other in ("app.orders", "app.maklon"):
            if other != name:
                chain = graph.find_shortest_chain(importer=name, imported=other,
                                                  as_packages=True)
                print(f"  -> {other}: {' -> '.join(chain) if chain else 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
