// Tiny Kafka admin helper for deploy/local (one JVM instead of one per topic).
//   EnsureTopics <bootstrap> list
//   EnsureTopics <bootstrap> ensure <partitions> <topic>...
// `ensure` creates missing topics (replication 1, retention.ms=-1) and leaves
// existing ones alone. Exit code != 0 on any failure.
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.errors.TopicExistsException;

public class EnsureTopics {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: EnsureTopics <bootstrap> list | ensure <partitions> <topic>...");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "local-stack-admin");
    try (Admin admin = Admin.create(p)) {
      Set<String> existing = admin.listTopics().names().get();
      if (args[1].equals("list")) {
        new TreeSet<>(existing).forEach(System.out::println);
        return;
      }
      int partitions = Integer.parseInt(args[2]);
      List<NewTopic> todo = new ArrayList<>();
      for (String t : new LinkedHashSet<>(Arrays.asList(args).subList(3, args.length))) {
        if (existing.contains(t)) {
          System.out.println("exists  " + t);
        } else {
          todo.add(new NewTopic(t, partitions, (short) 1)
              .configs(Map.of("retention.ms", "-1", "retention.bytes", "-1")));
        }
      }
      if (todo.isEmpty()) return;
      int failed = 0;
      for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e :
          admin.createTopics(todo).values().entrySet()) {
        try {
          e.getValue().get();
          System.out.println("created " + e.getKey() + " (partitions=" + partitions + ")");
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof TopicExistsException) {
            System.out.println("exists  " + e.getKey());
          } else {
            System.err.println("FAILED  " + e.getKey() + ": " + ex.getCause());
            failed++;
          }
        }
      }
      if (failed > 0) System.exit(1);
    }
  }
}
