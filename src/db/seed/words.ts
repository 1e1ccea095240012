/** What seeded rows are made of: word lists, and the weights of currencies, roles and statuses. */
import type { Currency, OrderStatus, Role } from '../schema.ts';

/** Each tenant's product currencies and their weights. */
export const CURRENCY_WEIGHTS: Readonly<Record<string, readonly [Currency, number][]>> = {
  acme: [
    ['USD', 80],
    ['EUR', 20],
  ],
  globex: [
    ['EUR', 50],
    ['INR', 50],
  ],
};

export const ADJECTIVES = [
  'Classic',
  'Compact',
  'Deluxe',
  'Durable',
  'Elegant',
  'Ergonomic',
  'Essential',
  'Everyday',
  'Foldable',
  'Handcrafted',
  'Heavy-Duty',
  'Lightweight',
  'Modern',
  'Portable',
  'Premium',
  'Rustic',
  'Sleek',
  'Smart',
  'Sturdy',
  'Vintage',
  'Waterproof',
  'Wireless',
];

export const MATERIALS = [
  'Aluminum',
  'Bamboo',
  'Brass',
  'Canvas',
  'Ceramic',
  'Cotton',
  'Glass',
  'Granite',
  'Leather',
  'Linen',
  'Maple',
  'Marble',
  'Oak',
  'Recycled',
  'Rubber',
  'Silicone',
  'Steel',
  'Walnut',
  'Wool',
];

export const NOUNS = [
  'Backpack',
  'Bench',
  'Blender',
  'Bookshelf',
  'Bottle',
  'Chair',
  'Clock',
  'Coffee Grinder',
  'Cutting Board',
  'Desk',
  'Desk Lamp',
  'Doormat',
  'Duffel Bag',
  'Headphones',
  'Keyboard',
  'Kettle',
  'Lunch Box',
  'Mouse Pad',
  'Mug',
  'Notebook',
  'Pan',
  'Phone Stand',
  'Picture Frame',
  'Pillow',
  'Planter',
  'Rug',
  'Scarf',
  'Speaker',
  'Stool',
  'Table',
  'Teapot',
  'Throw Blanket',
  'Tote Bag',
  'Towel Set',
  'Umbrella',
  'Vase',
  'Wall Shelf',
  'Wallet',
  'Watch',
];

export const FEATURES = [
  'Built to last for years of daily use.',
  'Easy to clean and dishwasher safe.',
  'Ships flat and assembles in minutes without tools.',
  'Backed by a two-year warranty.',
  'Designed in-house and tested by our team.',
  'Fits neatly into small spaces.',
  'Made in small batches from responsibly sourced materials.',
  'A customer favourite since launch.',
  'Available while stocks last.',
  'Pairs well with the rest of the collection.',
];

export const FIRST_NAMES = [
  'Aarav',
  'Amara',
  'Ben',
  'Chen',
  'Diego',
  'Elena',
  'Fatima',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kavya',
  'Liam',
  'Maya',
  'Noah',
  'Olga',
  'Priya',
  'Quinn',
  'Rosa',
  'Sam',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Yusuf',
  'Zoe',
];

export const LAST_NAMES = [
  'Adams',
  'Baker',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kim',
  'Lopez',
  'Müller',
  'Nakamura',
  'Okafor',
  'Patel',
  'Rossi',
  'Schmidt',
  'Singh',
  'Tanaka',
  'Walker',
  'Yilmaz',
];

export const ORDER_NOTES = [
  'Please leave the parcel at the front desk.',
  'Gift wrap, please.',
  'Deliver after 5 pm.',
  'Call on arrival.',
  'Invoice to the accounts team.',
  'Urgent: needed for Monday.',
  'Combine with my previous order if possible.',
  'No plastic packaging, thanks.',
];

/** Who is asking to be a bulk customer: mostly viewers, some members. */
export const BULK_ROLES: readonly (readonly [Role, number])[] = [
  ['viewer', 70],
  ['member', 30],
];

/** Order statuses: recent orders are still open, older ones have mostly shipped. */
export const RECENT_STATUSES: readonly (readonly [OrderStatus, number])[] = [
  ['pending', 55],
  ['confirmed', 30],
  ['shipped', 5],
  ['cancelled', 10],
];
export const OLDER_STATUSES: readonly (readonly [OrderStatus, number])[] = [
  ['pending', 10],
  ['confirmed', 15],
  ['shipped', 60],
  ['cancelled', 15],
];
/** How many updates each status implies (the row's version is one more). */
export const STATUS_UPDATES: Readonly<Record<OrderStatus, number>> = {
  pending: 0,
  confirmed: 1,
  shipped: 2,
  cancelled: 1,
};
