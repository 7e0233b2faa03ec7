/**
 * The public face of the optional `mongoose` peer: the few members of a
 * connection and a model that the package's own declarations mention, written
 * out here so that the package's types compile for apps without mongoose
 * installed. A real `mongoose.Connection` and any `mongoose.Model` fit them;
 * inside `mongo/`, values are read through mongoose's own types.
 */
import type { Connection, Model } from 'mongoose';

/** A Mongoose connection, such as `mongoose.connection` or one from `mongoose.createConnection()`. */
export interface MongooseConnection {
  readonly models: object;
  readonly base: object;
  model(name: string, ...rest: never[]): unknown;
}

/** A Mongoose model, such as the `User` of `mongoose.model('User', schema)`. */
export interface MongooseModel {
  readonly modelName: string;
  readonly schema: object;
  find(...args: never[]): unknown;
}

/** The connection as mongoose types it (mongoose's own declarations are there whenever a connection exists). */
export function asConnection(connection: MongooseConnection): Connection {
  return connection as unknown as Connection;
}

/** The model as mongoose types it, with documents read as plain records. */
export function asModel<Document>(model: MongooseModel): Model<Document> {
  return model as unknown as Model<Document>;
}
