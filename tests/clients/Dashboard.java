// What a JDBC dashboard does with a predictions table: a PreparedStatement
// run past pgjdbc's prepareThreshold (server-side, then generic plans), and
// DatabaseMetaData.getTables by type.  Prints one line per finding.
import java.sql.*;
import java.util.*;

public class Dashboard {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0], "postgres", "")) {
            try (PreparedStatement statement = conn.prepareStatement(
                    "SELECT class FROM pgdl.predictions WHERE model = ? AND source = ? AND key = ?")) {
                for (int i = 1; i <= 12; i++) {
                    statement.setString(1, "m");
                    statement.setString(2, "digits_test");
                    statement.setString(3, args[1]);
                    try (ResultSet rows = statement.executeQuery()) {
                        rows.next();
                        System.out.println("execution " + i + ": " + rows.getString(1));
                    }
                }
            }
            DatabaseMetaData meta = conn.getMetaData();
            for (String[] types : new String[][] {{"TABLE", "VIEW"}, {"FOREIGN TABLE"}}) {
                List<String> names = new ArrayList<>();
                try (ResultSet tables = meta.getTables(null, "public", "m_%", types)) {
                    while (tables.next()) names.add(tables.getString("TABLE_NAME"));
                }
                Collections.sort(names);
                System.out.println(String.join("+", types) + ": " + String.join(",", names));
            }
        }
    }
}
