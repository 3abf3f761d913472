package io.mpqemu.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The JSON errors of a real router and server: an unexpected failure answers an id only, an unknown path is quoted short. */
class CommonRoutesErrorsTest {

  private static final String SECRET = "cannot read /var/lib/mpqemu/control-plane.db: SELECT json FROM events";

  private final ch.qos.logback.classic.Logger httpErrors =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(HttpErrors.class);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private Vertx vertx;
  private int port;

  @BeforeEach
  void start() {
    logged.start();
    httpErrors.addAppender(logged);
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    router.get("/thrown").handler(ctx -> {
      throw new IllegalStateException(SECRET);
    });
    router.get("/failed").handler(ctx -> Future.failedFuture(new IllegalStateException(SECRET))
        .onFailure(e -> HttpErrors.send(ctx.response(), e)));
    CommonRoutes.health(router, vertx.getOrCreateContext(),
        () -> Future.failedFuture(new IllegalStateException(SECRET)));
    CommonRoutes.errors(router);
    HttpServer server = Await.result(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1"));
    port = server.actualPort();
  }

  @AfterEach
  void stop() {
    httpErrors.detachAppender(logged);
    Await.result(vertx.close());
  }

  @Test
  @DisplayName("a handler's unexpected exception answers 500 INTERNAL with an id and no path or SQL; the log line with the id has them")
  void internal() throws Exception {
    for (String path : List.of("/thrown", "/failed")) {
      HttpResponse<String> answer = get(path);
      assertThat(answer.statusCode()).as(path).isEqualTo(500);
      JsonObject error = new JsonObject(answer.body()).getJsonObject("error");
      assertThat(error.getString("code")).isEqualTo("INTERNAL");
      String message = error.getString("message");
      Matcher m = InternalErrors.MESSAGE.matcher(message);
      assertThat(m.matches()).as(message).isTrue();
      assertThat(message).doesNotContain("/", "SELECT", "control-plane.db");
      assertThat(logged.list).as("the log line of " + path).anySatisfy(line -> {
        assertThat(line.getLevel()).isEqualTo(Level.ERROR);
        assertThat(line.getFormattedMessage()).contains("id=" + m.group(1), SECRET);
      });
    }
  }

  @Test
  @DisplayName("readiness that fails unexpectedly answers 503 with an id and no detail")
  void readinessFailure() throws Exception {
    HttpResponse<String> answer = get("/readyz");
    assertThat(answer.statusCode()).isEqualTo(503);
    String message = new JsonObject(answer.body()).getJsonObject("error").getString("message");
    assertThat(message).startsWith("readiness could not be checked: internal error (id ").doesNotContain("SELECT", "/");
  }

  @Test
  @DisplayName("an unknown path of 3000 characters is quoted cut short: the answer stays short")
  void longPath() throws Exception {
    String path = "/" + "x".repeat(3000);
    HttpResponse<String> answer = get(path);
    assertThat(answer.statusCode()).isEqualTo(404);
    String message = new JsonObject(answer.body()).getJsonObject("error").getString("message");
    assertThat(message).isEqualTo("nothing is served at /" + "x".repeat(63) + "…").hasSizeLessThan(400);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }
}
