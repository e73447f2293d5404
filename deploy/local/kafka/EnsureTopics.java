// Tiny Kafka admin helper for deploy/local (one JVM instead of one per topic).
//   EnsureTopics <bootstrap> list
//   EnsureTopics <bootstrap> ensure <partitions> <topic>...
//   EnsureTopics <bootstrap> acls < lines "principal resource-type name pattern op,op,..."
// `ensure` creates missing topics (replication 1, retention.ms=-1) and leaves
// existing ones alone; `acls` adds allow ACLs (e.g. "User:intake topic intake.events literal Write,Describe").
// KAFKA_ADMIN_CONFIG names a properties file with the client's security settings (SASL brokers).
// Exit code != 0 on any failure.
import java.io.*;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.*;

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
    String config = System.getenv("KAFKA_ADMIN_CONFIG");
    if (config != null && !config.isEmpty()) {
      try (Reader r = Files.newBufferedReader(Paths.get(config))) { p.load(r); }
    }
    try (Admin admin = Admin.create(p)) {
      if (args[1].equals("acls")) {
        addAcls(admin);
        return;
      }
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

  static void addAcls(Admin admin) throws Exception {
    List<AclBinding> bindings = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = in.readLine()) != null; ) {
      line = line.trim();
      if (line.isEmpty() || line.startsWith("#")) continue;
      String[] f = line.split("\\s+");
      ResourcePattern resource = new ResourcePattern(
          ResourceType.fromString(f[1].toUpperCase(Locale.ROOT)), f[2],
          PatternType.fromString(f[3].toUpperCase(Locale.ROOT)));
      for (String op : f[4].split(",")) {
        bindings.add(new AclBinding(resource, new AccessControlEntry(
            f[0], "*", AclOperation.fromString(op.toUpperCase(Locale.ROOT)), AclPermissionType.ALLOW)));
      }
    }
    admin.createAcls(bindings).all().get();
    System.out.println("created " + bindings.size() + " acls");
  }
}
