// The order migrations are applied in: topological over depends-on, ties broken by id so the order
// is the same on every machine. Unknown dependencies and every cycle are reported, not just the first.

export interface Node {
  id: string;
  dependsOn: readonly string[];
}

/**
 * `order` lists the nodes with every dependency before its dependents; `problems` is empty when
 * the graph is valid. `broken` ids belong to files that failed to parse: depending on one is not
 * reported again as an unknown dependency.
 */
export function dependencyOrder<T extends Node>(
  nodes: readonly T[],
  broken: ReadonlySet<string> = new Set(),
): { order: T[]; problems: string[] } {
  const problems: string[] = [];
  const byId = new Map<string, T>();
  for (const node of nodes) {
    if (byId.has(node.id)) problems.push(`two migrations have the id '${node.id}'`);
    else byId.set(node.id, node);
  }
  for (const node of byId.values()) {
    for (const dependency of node.dependsOn) {
      if (!byId.has(dependency) && !broken.has(dependency)) {
        problems.push(`${node.id} depends on '${dependency}', which is not a migration`);
      }
    }
  }
  for (const cycle of cyclesOf(byId)) problems.push(`dependency cycle: ${cycle.join(' → ')}`);
  if (problems.length > 0) return { order: [], problems };

  // Kahn's algorithm, taking the smallest ready id each time.
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of byId.values()) {
    waitingOn.set(node.id, node.dependsOn.filter((dependency) => byId.has(dependency)).length);
    for (const dependency of node.dependsOn)
      dependents.set(dependency, [...(dependents.get(dependency) ?? []), node.id]);
  }
  const ready = [...byId.keys()].filter((id) => waitingOn.get(id) === 0);
  const order: T[] = [];
  while (ready.length > 0) {
    ready.sort();
    const id = ready.shift()!;
    order.push(byId.get(id)!);
    for (const dependent of dependents.get(id) ?? []) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  return { order, problems };
}

/**
 * One cycle per strongly connected component that has one (Tarjan), each written from its
 * smallest id and back to it, following depends-on: `a → b → a` means a depends on b, b on a.
 */
function cyclesOf(byId: ReadonlyMap<string, Node>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  const edges = (id: string) => byId.get(id)!.dependsOn.filter((dependency) => byId.has(dependency));
  // Recursive: migration sets are small enough (thousands at most) for the call stack.
  const visit = (id: string): void => {
    index.set(id, counter);
    lowLink.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
    for (const next of edges(id)) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(id, Math.min(lowLink.get(id)!, lowLink.get(next)!));
      } else if (onStack.has(next)) {
        lowLink.set(id, Math.min(lowLink.get(id)!, index.get(next)!));
      }
    }
    if (lowLink.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      components.push(component);
    }
  };
  for (const id of [...byId.keys()].sort()) if (!index.has(id)) visit(id);

  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...members].sort()[0]!;
    if (members.size === 1 && !edges(start).includes(start)) continue;
    cycles.push(pathBack(start, members, edges));
  }
  return cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The shortest path from `start` back to itself inside one component (breadth first). */
function pathBack(start: string, members: ReadonlySet<string>, edges: (id: string) => string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const next of [...edges(id)].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path: string[] = [];
        for (let at = id; at !== start; at = previous.get(at)!) path.unshift(at);
        return [start, ...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, id);
        queue.push(next);
      }
    }
  }
  return [start, start];
}
