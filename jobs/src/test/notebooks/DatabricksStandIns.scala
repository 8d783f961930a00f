// What a Databricks Scala notebook has in scope without importing it, as compile-time stand-ins: NotebookCompiler
// compiles every notebooks/*.scala wrapped in `object ... extends DatabricksNotebook` together with this file, against
// the project's classes. Nothing here runs (every body is ???): the point is that a notebook calling a method that
// does not exist, or with the wrong types, fails the build.
//
// Signatures as Databricks documents them: dbutils.widgets.help(), dbutils.fs.help(), dbutils.notebook.help() and the
// DBUtils trait of databricks/databricks-dbutils-scala (com.databricks.sdk.scala.dbutils), e.g.
//   text(name: String, defaultValue: String, label: String): void        (label optional in Scala)
//   dropdown(name: String, defaultValue: String, choices: Seq, label: String): void
//   cp(from: String, to: String, recurse: boolean = false): boolean
//   head(file: String, maxBytes: int = 65536): String
//   exit(value: String): void
// display(df) renders a DataFrame (or a Seq of case classes such as dbutils.fs.ls's FileInfo); displayHTML(html) renders
// an HTML string. spark.implicits._ is imported in every notebook ($"col", toDF).
package lakelora.notebooks

import org.apache.spark.SparkContext
import org.apache.spark.sql.{Dataset, SQLContext, SparkSession}

/** An entry of dbutils.fs.ls. */
case class FileInfo(path: String, name: String, size: Long, modificationTime: Long) {
  def isDir: Boolean = name.endsWith("/")
  def isFile: Boolean = !isDir
}

object dbutils {
  object widgets {
    def get(argName: String): String = ???
    def text(argName: String, defaultValue: String, label: String = null): Unit = ???
    def dropdown(argName: String, defaultValue: String, choices: Seq[String], label: String = null): Unit = ???
    def combobox(argName: String, defaultValue: String, choices: Seq[String], label: String = null): Unit = ???
    def multiselect(argName: String, defaultValue: String, choices: Seq[String], label: String = null): Unit = ???
    def remove(argName: String): Unit = ???
    def removeAll(): Unit = ???
  }

  object fs {
    def ls(dir: String): Seq[FileInfo] = ???
    def rm(dir: String, recurse: Boolean = false): Boolean = ???
    def mkdirs(dir: String): Boolean = ???
    def cp(from: String, to: String, recurse: Boolean = false): Boolean = ???
    def mv(from: String, to: String, recurse: Boolean = false): Boolean = ???
    def head(file: String, maxBytes: Int = 64 * 1024): String = ???
    def put(file: String, contents: String, overwrite: Boolean = false): Boolean = ???
  }

  object notebook {
    def exit(value: String): Unit = ???
    def run(path: String, timeoutSeconds: Int, arguments: scala.collection.Map[String, String] = Map.empty): String = ???
  }
}

/** The notebook's REPL scope: the session, its context, and the display functions. */
abstract class DatabricksNotebook {
  val spark: SparkSession = ???
  val sc: SparkContext = ???
  val sqlContext: SQLContext = ???

  def display(df: Dataset[_]): Unit = ???
  def display[A <: Product](data: Seq[A]): Unit = ???
  def displayHTML(html: String): Unit = ???
}
