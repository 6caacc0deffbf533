import SwiftUI

@main
struct MobilekitDemoApp: App {
    var body: some Scene {
        WindowGroup {
            ContentView()
        }
    }
}
