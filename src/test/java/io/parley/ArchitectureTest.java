package io.parley;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.parley.common.CborSerializable;

/**
 * The layout the README promises, as rules over the main classes. Packages by feature, each
 * depending only downwards:
 *
 * <pre>
 *   app ─▶ http ─▶ client ─▶ room ─▶ history
 *                  │  online  │  ws, protocol, metrics, common
 * </pre>
 */
@AnalyzeClasses(packages = "io.parley", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  @ArchTest
  static final ArchRule noPackageCycles = slices().matching("io.parley.(*)..")
      .should().beFreeOfCycles();

  @ArchTest
  static final ArchRule onlyWsTouchesPekkoHttpInternals = noClasses()
      .that().resideOutsideOfPackage("io.parley.ws..")
      .should().dependOnClassesThat().resideInAPackage("org.apache.pekko.http.impl..")
      .because("pekko-http marks its frame API internal; one package takes the risk of an upgrade");

  @ArchTest
  static final ArchRule protocolDependsOnNothingOfOurs = noClasses()
      .that().resideInAPackage("io.parley.protocol..")
      .should().dependOnClassesThat().resideInAnyPackage("io.parley..")
      .andShould().dependOnClassesThat().resideOutsideOfPackages("io.parley.protocol..", "java..",
          "com.fasterxml.jackson..")
      .because("the wire protocol is plain data: JSON in, records out, bytes back");

  @ArchTest
  static final ArchRule protocolIsSelfContained = classes()
      .that().resideInAPackage("io.parley.protocol..")
      .should().onlyDependOnClassesThat().resideInAnyPackage("io.parley.protocol..", "java..",
          "com.fasterxml.jackson..");

  @ArchTest
  static final ArchRule theRoomLogKnowsNoActors = classes()
      .that().resideInAPackage("io.parley.history..")
      .should().onlyDependOnClassesThat().resideInAnyPackage("io.parley.history..", "java..", "javax.sql..",
          "com.zaxxer.hikari..", "org.flywaydb..", "org.slf4j..")
      .because("the room log is storage: rooms use it, it uses nothing of theirs");

  @ArchTest
  static final ArchRule wsKnowsNothingOfRoomsOrConnections = noClasses()
      .that().resideInAPackage("io.parley.ws..")
      .should().dependOnClassesThat().resideInAnyPackage("io.parley.room..", "io.parley.client..",
          "io.parley.http..", "io.parley.app..", "io.parley.protocol..")
      .because("ws speaks RFC 6455; what the frames mean is someone else's");

  @ArchTest
  static final ArchRule roomsKnowNothingOfConnectionsOrHttp = noClasses()
      .that().resideInAPackage("io.parley.room..")
      .should().dependOnClassesThat().resideInAnyPackage("io.parley.client..", "io.parley.http..",
          "io.parley.app..", "io.parley.online..");

  @ArchTest
  static final ArchRule nothingDependsOnTheApplication = noClasses()
      .that().resideOutsideOfPackage("io.parley.app..")
      .should().dependOnClassesThat().resideInAPackage("io.parley.app..")
      .because("app wires the node together; the features do not reach back into it");

  @ArchTest
  static final ArchRule crossNodeMessagesAreRecordsForTheCborSerializer = classes()
      .that().implement(CborSerializable.class).and().areNotInterfaces()
      .should().beRecords().orShould().beEnums()
      .because("what crosses nodes is plain data (records, enums) for Jackson's CBOR serializer; Java serialization is off");
}
