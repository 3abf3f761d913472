package io.mpqemu.http;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.Supplier;

/** Runs work on the context that owns the state it reads and answers on the caller's context. */
public final class OnContext {

  private OnContext() {}

  public static <T> Future<T> call(Context owner, Supplier<Future<T>> work) {
    Context caller = Vertx.currentContext();
    Promise<T> answer = Promise.promise();
    owner.runOnContext(v -> {
      Future<T> result;
      try {
        result = work.get();
      } catch (RuntimeException e) {
        result = Future.failedFuture(e);
      }
      result.onComplete(ar -> {
        if (caller == null || caller == owner) {
          answer.handle(ar);
        } else {
          caller.runOnContext(x -> answer.handle(ar));
        }
      });
    });
    return answer.future();
  }
}
