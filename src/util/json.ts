/** JSON values as they cross every boundary: request bodies, stored documents, block inputs and outputs. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };
