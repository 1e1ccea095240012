import { describe, expect, it } from 'vitest';
import { describeDifference, firstDifference } from '../../bench/compare.ts';

const PAGE = {
  orders: {
    nodes: [
      {
        id: 'ord_1',
        total: { amount: 1999, currency: 'EUR' },
        createdAt: '2024-12-27T14:33:39.296Z',
        items: [{ id: 'item_1', product: { id: 'prod_1', name: 'Lamp' } }],
      },
      {
        id: 'ord_2',
        total: { amount: 500, currency: 'USD' },
        createdAt: '2024-12-20T23:33:24.899Z',
        items: [],
      },
    ],
    pageInfo: { hasNextPage: true, endCursor: 'WyJjcmVhdGVkQXQiXQ' },
  },
};

/** A deep copy of PAGE with `change` applied to it. */
function changed(change: (page: typeof PAGE) => void) {
  const copy = structuredClone(PAGE);
  change(copy);
  return copy;
}

describe('firstDifference', () => {
  it('finds none between equal data, whatever the order of keys', () => {
    expect(firstDifference(PAGE, structuredClone(PAGE))).toBeNull();
    expect(
      firstDifference({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }),
    ).toBeNull();
  });

  it('names the path and both values of a changed scalar', () => {
    const other = changed((page) => {
      (page.orders.nodes[1] as { createdAt: string }).createdAt = '2024-12-20T23:33:24.000Z';
    });
    expect(firstDifference(PAGE, other)).toEqual({
      path: 'data.orders.nodes[1].createdAt',
      expected: '"2024-12-20T23:33:24.899Z"',
      actual: '"2024-12-20T23:33:24.000Z"',
    });
  });

  it('reports the first difference in document order, not a later one', () => {
    const other = changed((page) => {
      page.orders.nodes[0]!.total.amount = 2000;
      page.orders.pageInfo.hasNextPage = false;
    });
    expect(firstDifference(PAGE, other)?.path).toBe('data.orders.nodes[0].total.amount');
  });

  it('tells a number from the same digits as a string, and null from a missing field', () => {
    expect(firstDifference({ amount: 1999 }, { amount: '1999' })).toEqual({
      path: 'data.amount',
      expected: '1999',
      actual: '"1999"',
    });
    expect(firstDifference({ product: null }, {})).toEqual({
      path: 'data.product',
      expected: 'null',
      actual: '(missing)',
    });
    expect(firstDifference({}, { extra: 1 })).toEqual({
      path: 'data.extra',
      expected: '(missing)',
      actual: '1',
    });
  });

  it('reports a shorter or longer list at the first item only one side has', () => {
    const shorter = changed((page) => {
      page.orders.nodes.pop();
    });
    expect(firstDifference(PAGE, shorter)).toMatchObject({
      path: 'data.orders.nodes[1]',
      actual: '(missing)',
    });
    expect(firstDifference(shorter, PAGE)).toMatchObject({
      path: 'data.orders.nodes[1]',
      expected: '(missing)',
    });
  });

  it('tells a list from an object and shortens long values', () => {
    const difference = firstDifference({ items: [] }, { items: { a: 'x'.repeat(200) } });
    expect(difference?.path).toBe('data.items');
    expect(difference?.expected).toBe('[]');
    expect(difference?.actual).toHaveLength(80);
    expect(difference?.actual.endsWith('…')).toBe(true);
  });
});

describe('describeDifference', () => {
  it('puts the path first and names each side', () => {
    expect(
      describeDifference({ path: 'data.x', expected: '1', actual: '2' }, 'ours', 'ceiling'),
    ).toBe('data.x: ours 1, ceiling 2');
  });
});
